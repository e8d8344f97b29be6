use tdw_kernel_ext::prelude::*;
// Under tdw-kernel: connect to the kernel now, so an interrupt reaches training from the start.
tdw_kernel_ext::kernel::connect_kernel();
