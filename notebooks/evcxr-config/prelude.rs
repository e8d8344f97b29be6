use tdw_kernel_ext::prelude::*;
