//! Our DEFLATE encoder against zlib (zlib-rs) level 1 on one file, e.g. an `.npy` member of an
//! activation artifact: seconds and bytes of each, and a round trip through zlib's inflater.
//! `cargo run --release --example profile_deflate -- <file>`
use std::io::{Read, Write};
use std::time::Instant;

use tdw_core::analysis::deflate;

fn main() {
    let path = std::env::args().nth(1).expect("a file to compress");
    let data = std::fs::read(&path).expect("readable file");
    for _ in 0..3 {
        let t = Instant::now();
        let ours = deflate::compress(&data);
        let ours_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut zlib = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(1));
        zlib.write_all(&data).expect("in memory");
        let zlib = zlib.finish().expect("in memory");
        let zlib_s = t.elapsed().as_secs_f64();
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&ours[..])
            .read_to_end(&mut back)
            .expect("valid stream");
        assert!(back == data, "round trip differs");
        println!(
            "{} MB: ours {ours_s:.3} s {} bytes, zlib level 1 {zlib_s:.3} s {} bytes",
            data.len() >> 20,
            ours.len(),
            zlib.len()
        );
    }
}
