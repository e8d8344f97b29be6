//! Our DEFLATE encoder against zlib-rs on one file, e.g. an `.npy` member of an activation
//! artifact: zlib level 1 (default strategy, through flate2, what the `zip` crate would use) and
//! zlib-rs's RLE strategy (matches at distance 1 only, the one kind of match our encoder looks
//! for) at levels 1 and 6. Seconds (best of 3) and bytes of each, each output inflated back and
//! compared with the input.
//! `cargo run --release --example profile_deflate -- <file>`
use std::io::{Read, Write};
use std::time::Instant;

use tdw_core::formats::deflate;

/// Best time of three runs of `f`, and its last output.
fn best_of_three(mut f: impl FnMut() -> Vec<u8>) -> (f64, Vec<u8>) {
    let mut best = f64::INFINITY;
    let mut out = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out)
}

fn zlib_rs_rle(data: &[u8], level: i32) -> Vec<u8> {
    let config = zlib_rs::DeflateConfig {
        level,
        // Raw DEFLATE (no zlib header), as zip members hold it.
        window_bits: -15,
        strategy: zlib_rs::Strategy::Rle,
        ..zlib_rs::DeflateConfig::default()
    };
    let mut out = vec![0u8; zlib_rs::compress_bound(data.len())];
    let (written, code) = zlib_rs::compress_slice(&mut out, data, config);
    assert!(
        matches!(
            code,
            zlib_rs::ReturnCode::Ok | zlib_rs::ReturnCode::StreamEnd
        ),
        "zlib-rs failed: {code:?}"
    );
    written.to_vec()
}

fn main() {
    let path = std::env::args().nth(1).expect("a file to compress");
    let data = std::fs::read(&path).expect("readable file");
    let (ours_s, ours) = best_of_three(|| deflate::compress(&data));
    let (zlib1_s, zlib1) = best_of_three(|| {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(1));
        z.write_all(&data).expect("in memory");
        z.finish().expect("in memory")
    });
    let (rle1_s, rle1) = best_of_three(|| zlib_rs_rle(&data, 1));
    let (rle6_s, rle6) = best_of_three(|| zlib_rs_rle(&data, 6));
    for (name, stream) in [
        ("ours", &ours),
        ("zlib 1", &zlib1),
        ("rle 1", &rle1),
        ("rle 6", &rle6),
    ] {
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&stream[..])
            .read_to_end(&mut back)
            .expect("valid stream");
        assert!(back == data, "{name}: round trip differs");
    }
    println!("{:.1} MB input ({path})", data.len() as f64 / 1e6);
    println!("encoder                 seconds      bytes  time/ours  size/ours");
    for (name, s, out) in [
        ("ours", ours_s, &ours),
        ("zlib-rs level 1", zlib1_s, &zlib1),
        ("zlib-rs RLE level 1", rle1_s, &rle1),
        ("zlib-rs RLE level 6", rle6_s, &rle6),
    ] {
        println!(
            "{name:22} {s:8.3} {:10} {:10.2} {:10.3}",
            out.len(),
            s / ours_s,
            out.len() as f64 / ours.len() as f64
        );
    }
}
