//! A DEFLATE (RFC 1951) encoder made for arrays of numbers.
//!
//! Why not zlib: at level 1 zlib (zlib-rs, libdeflate alike) spends ~0.2 s of CPU on one 26 MB
//! `neuron_activations` grid, as long as all the rest of a checkpoint's analysis. Its time goes
//! into hash-chain searches for repeated strings, which float data hardly has: what compresses in
//! an activation grid is the skewed byte distribution (exponents, signs) and the zero floats that
//! ReLU writes. So this encoder does that and nothing else: each block gets its own Huffman code
//! for the bytes, and a run of four-byte words of one repeated byte (zero floats, the zero high
//! bytes of small integers) becomes a distance-1 match. On that grid it is ~3x faster than zlib
//! level 1 and as small as zlib level 6, numpy's (the ignored test `profile_against_zlib_rs` at the end measures it).
//!
//! Kept against zlib-rs's own RLE strategy (distance-1 matches only, the one kind this encoder
//! looks for), measured 2026-12-04 on the reference run's 26.2 MB `activations.npy` (p = 113,
//! epoch 299), best of three, same process: ours 0.059 s / 14,843,125 bytes; zlib-rs RLE
//! level 1 0.182 s / 14,841,366 bytes (level 6 the same); zlib-rs level 1 default strategy
//! 0.186 s / 16,965,739 bytes. Equal size, ours 3.1x faster (the bar to keep it was 1.5x): RLE
//! still runs zlib's generic match loop and emits one symbol at a time.
//! A block that would not shrink is written stored, so incompressible input grows by 0.01%.
//! Any inflater reads the output (numpy's `np.load`, the `zip` crate).

/// Input bytes per block: each gets its own Huffman code (~150 bytes of header), so a block
/// follows the statistics of a stretch of the array.
pub const BLOCK: usize = 1 << 17;

/// The shortest match DEFLATE has.
const MIN_RUN: usize = 3;
const MAX_RUN: usize = 258;
/// Literal/length alphabet: 256 bytes, end of block, 29 length codes.
const SYMBOLS: usize = 286;
const END_OF_BLOCK: usize = 256;
/// The longest code each alphabet allows.
const MAX_CODE_BITS: u8 = 15;
const MAX_CODE_LENGTH_BITS: u8 = 7;
/// The order in which code-length code lengths are sent (RFC 1951, 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// First length and extra bits of length codes 257..=284 (285 is 258 exactly).
const LENGTH_BASE: [u16; 28] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227,
];
const LENGTH_EXTRA: [u8; 28] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5,
];

/// How a match length is written: its symbol, extra bit count and extra bits.
#[derive(Clone, Copy, Default)]
struct LengthCode {
    symbol: u16,
    extra_bits: u8,
    extra: u16,
}

/// `LENGTHS[len]` for `len` in 3..=258.
fn length_code(len: usize) -> LengthCode {
    if len == MAX_RUN {
        return LengthCode {
            symbol: 285,
            ..LengthCode::default()
        };
    }
    let index = LENGTH_BASE.partition_point(|&base| usize::from(base) <= len) - 1;
    LengthCode {
        symbol: 257 + index as u16,
        extra_bits: LENGTH_EXTRA[index],
        extra: (len - usize::from(LENGTH_BASE[index])) as u16,
    }
}

/// Little-endian bit packing as DEFLATE wants it: the first bit is the byte's lowest.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    /// Appends the low `count` bits of `value` (`count` ≤ 32).
    #[inline]
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.bits;
        self.bits += count;
        if self.bits >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.bits -= 32;
        }
    }

    /// Pads to a byte boundary with zero bits.
    fn align(&mut self) {
        let bytes = self.bits.div_ceil(8);
        self.out
            .extend_from_slice(&self.acc.to_le_bytes()[..bytes as usize]);
        self.acc = 0;
        self.bits = 0;
    }

    fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.bits)
    }
}

/// Huffman code lengths for `counts`, none longer than `limit`. Symbols with count 0 get length
/// 0. Where the optimal code is too deep the counts are halved (keeping every used symbol) and the
/// code rebuilt: rare in practice, and it keeps the code a plain Huffman code.
fn code_lengths(counts: &[u32], limit: u8) -> Vec<u8> {
    let mut counts = counts.to_vec();
    loop {
        let lengths = huffman_lengths(&counts);
        if lengths.iter().all(|&l| l <= limit) {
            return lengths;
        }
        for count in counts.iter_mut().filter(|c| **c > 0) {
            *count = count.div_ceil(2);
        }
    }
}

/// Optimal (unlimited) Huffman code lengths, by the two-queue construction over sorted leaves.
fn huffman_lengths(counts: &[u32]) -> Vec<u8> {
    let mut leaves: Vec<(u64, usize)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(symbol, &c)| (u64::from(c), symbol))
        .collect();
    let mut lengths = vec![0u8; counts.len()];
    match leaves.len() {
        0 => return lengths,
        1 => {
            lengths[leaves[0].1] = 1;
            return lengths;
        }
        _ => {}
    }
    leaves.sort_unstable();
    let n = leaves.len();
    // Nodes 0..n are the leaves in order, n.. the internal nodes in order of creation; both
    // queues are sorted by weight, so the two lightest nodes are at their fronts.
    let mut weight: Vec<u64> = leaves.iter().map(|&(c, _)| c).collect();
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut next_leaf, mut next_internal) = (0, n);
    let mut lightest = |weight: &[u64]| {
        let internal_ready = next_internal < weight.len();
        if next_leaf < n && (!internal_ready || weight[next_leaf] <= weight[next_internal]) {
            next_leaf += 1;
            next_leaf - 1
        } else {
            next_internal += 1;
            next_internal - 1
        }
    };
    for node in n..2 * n - 1 {
        let a = lightest(&weight);
        let b = lightest(&weight);
        weight.push(weight[a] + weight[b]);
        parent[a] = node;
        parent[b] = node;
    }
    // A parent is created after its children, so walking down from the root sees it first.
    let mut depth = vec![0u8; 2 * n - 1];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[parent[node]].saturating_add(1);
    }
    for (leaf, &(_, symbol)) in leaves.iter().enumerate() {
        lengths[symbol] = depth[leaf];
    }
    lengths
}

/// Canonical codes for the lengths (RFC 1951, 3.2.2), bit-reversed for the LSB-first stream.
fn canonical_codes(lengths: &[u8]) -> Vec<u16> {
    let mut per_length = [0u16; 16];
    for &l in lengths.iter().filter(|&&l| l > 0) {
        per_length[usize::from(l)] += 1;
    }
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        code = (code + per_length[bits - 1]) << 1;
        next[bits] = code;
    }
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            let code = next[usize::from(l)];
            next[usize::from(l)] += 1;
            code.reverse_bits() >> (16 - l)
        })
        .collect()
}

/// A Huffman code over an alphabet: each symbol's length and (bit-reversed) code.
struct Code {
    lengths: Vec<u8>,
    codes: Vec<u16>,
}

impl Code {
    /// The code for `counts`; at least two symbols get codes (inflaters such as zlib reject a
    /// one-symbol literal code), so the lowest unused symbols stand in if needed.
    fn new(counts: &[u32], limit: u8) -> Code {
        let mut counts = counts.to_vec();
        for symbol in 0..counts.len() {
            if counts.iter().filter(|&&c| c > 0).count() >= 2 {
                break;
            }
            if counts[symbol] == 0 {
                counts[symbol] = 1;
            }
        }
        let lengths = code_lengths(&counts, limit);
        let codes = canonical_codes(&lengths);
        Code { lengths, codes }
    }

    #[inline]
    fn put(&self, bits: &mut BitWriter, symbol: usize) {
        bits.put(
            u32::from(self.codes[symbol]),
            u32::from(self.lengths[symbol]),
        );
    }
}

/// A block's input as tokens: a byte (< 256) or a distance-1 match of `token - 256` bytes.
struct Tokens {
    tokens: Vec<u16>,
    counts: [u32; SYMBOLS],
    /// Extra length bits plus the distance bit, over all matches.
    match_bits: u64,
}

impl Tokens {
    fn of(data: &[u8], lengths: &[LengthCode; MAX_RUN + 1], tokens: &mut Vec<u16>) -> Tokens {
        // At most one token per byte: written by index into a slice, no capacity checks.
        tokens.resize(data.len(), 0);
        let out = tokens.as_mut_slice();
        let (mut i, mut t) = (0, 0);
        // A word at a time: a word of four equal bytes starts a run (a zero float, the zero
        // high bytes of small integers), any other word is four literals. Runs are cut to whole
        // words, so the words stay aligned with the array's elements.
        while let Some(word) = data.get(i..i + 4) {
            let byte = word[0];
            if word != [byte; 4] {
                for (slot, &b) in out[t..t + 4].iter_mut().zip(word) {
                    *slot = u16::from(b);
                }
                (i, t) = (i + 4, t + 4);
                continue;
            }
            // After the same byte the whole run is a match; otherwise its first byte is a
            // literal for the match to copy.
            let follows = i > 0 && data[i - 1] == byte;
            let reach = if follows { MAX_RUN } else { MAX_RUN + 1 };
            let run = run_length(&data[i..(i + reach).min(data.len())], byte) / 4 * 4;
            if !follows {
                out[t] = u16::from(byte);
                t += 1;
            }
            out[t] = 256 + (run - usize::from(!follows)) as u16;
            (i, t) = (i + run, t + 1);
        }
        for &b in &data[i..] {
            out[t] = u16::from(b);
            t += 1;
        }
        tokens.truncate(t);
        // Counted afterwards, in four interleaved histograms: one histogram's increments of a
        // frequent byte would wait on each other.
        let mut partial = [[0u32; 256 + MAX_RUN + 1]; 4];
        let mut quads = tokens.chunks_exact(4);
        for quad in &mut quads {
            for (histogram, &token) in partial.iter_mut().zip(quad) {
                histogram[usize::from(token)] += 1;
            }
        }
        for &token in quads.remainder() {
            partial[0][usize::from(token)] += 1;
        }
        let mut counts = [0u32; SYMBOLS];
        let mut match_bits = 0u64;
        for token in 0..256 + MAX_RUN + 1 {
            let count: u32 = partial.iter().map(|h| h[token]).sum();
            if token < 256 {
                counts[token] += count;
            } else if count > 0 {
                let code = lengths[token - 256];
                counts[usize::from(code.symbol)] += count;
                match_bits += u64::from(count) * (u64::from(code.extra_bits) + 1);
            }
        }
        counts[END_OF_BLOCK] += 1;
        Tokens {
            tokens: std::mem::take(tokens),
            counts,
            match_bits,
        }
    }
}

/// How many leading bytes of `data` equal `byte`, eight at a time.
fn run_length(data: &[u8], byte: u8) -> usize {
    let pattern = u64::from_ne_bytes([byte; 8]);
    let mut chunks = data.chunks_exact(8);
    let mut run = 0;
    for chunk in &mut chunks {
        let differ = u64::from_le_bytes(chunk.try_into().expect("chunks of 8")) ^ pattern;
        if differ != 0 {
            return run + (differ.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    run + chunks
        .remainder()
        .iter()
        .take_while(|&&b| b == byte)
        .count()
}

/// Compresses a stream block by block into raw DEFLATE (no zlib or gzip wrapper).
pub struct Deflater {
    bits: BitWriter,
    lengths: Box<[LengthCode; MAX_RUN + 1]>,
    scratch: Vec<u16>,
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflater {
    /// An encoder with empty buffers (reuse one across members).
    pub fn new() -> Deflater {
        let mut lengths = Box::new([LengthCode::default(); MAX_RUN + 1]);
        for (len, code) in lengths.iter_mut().enumerate().skip(3) {
            *code = length_code(len);
        }
        Deflater {
            bits: BitWriter {
                out: Vec::new(),
                acc: 0,
                bits: 0,
            },
            lengths,
            scratch: Vec::new(),
        }
    }

    /// Appends `data` as one block (`last` marks the end of the stream). Blocks of any size are
    /// valid; [`BLOCK`] is the size this encoder is tuned for.
    pub fn block(&mut self, data: &[u8], last: bool) {
        let tokens = Tokens::of(data, &self.lengths, &mut self.scratch);
        let literal = Code::new(&tokens.counts, MAX_CODE_BITS);
        // Only distance 1 is ever used; two one-bit codes make a complete distance code.
        let distance = Code::new(&[1, 1], MAX_CODE_BITS);
        let used = literal.lengths[257..]
            .iter()
            .rposition(|&l| l > 0)
            .map_or(257, |p| 258 + p);
        let mut header: Vec<u8> = literal.lengths[..used].to_vec();
        header.extend_from_slice(&distance.lengths);
        let mut header_counts = [0u32; 19];
        for &l in &header {
            header_counts[usize::from(l)] += 1;
        }
        let header_code = Code::new(&header_counts, MAX_CODE_LENGTH_BITS);
        let sent = CODE_LENGTH_ORDER
            .iter()
            .rposition(|&s| header_code.lengths[s] > 0)
            .map_or(4, |p| (p + 1).max(4));

        let header_bits = 3
            + 14
            + 3 * sent as u64
            + header
                .iter()
                .map(|&l| u64::from(header_code.lengths[usize::from(l)]))
                .sum::<u64>();
        let body_bits = tokens
            .counts
            .iter()
            .zip(&literal.lengths)
            .map(|(&c, &l)| u64::from(c) * u64::from(l))
            .sum::<u64>()
            + tokens.match_bits;
        // Stored: align to a byte, then 4 bytes of lengths per piece of at most 65,535 bytes.
        let stored_bits =
            data.len().div_ceil(0xFFFF).max(1) as u64 * (3 + 7 + 32) + 8 * data.len() as u64;
        if header_bits + body_bits >= stored_bits {
            self.stored(data, last);
        } else {
            let start = self.bits.bit_len();
            self.bits.put(u32::from(last) | (2 << 1), 3);
            self.bits.put((used - 257) as u32, 5);
            self.bits.put((distance.lengths.len() - 1) as u32, 5);
            self.bits.put((sent - 4) as u32, 4);
            for &symbol in &CODE_LENGTH_ORDER[..sent] {
                self.bits.put(u32::from(header_code.lengths[symbol]), 3);
            }
            for &l in &header {
                header_code.put(&mut self.bits, usize::from(l));
            }
            self.body(&tokens.tokens, &literal, body_bits);
            debug_assert_eq!(self.bits.bit_len() - start, header_bits + body_bits);
        }
        self.scratch = tokens.tokens;
    }

    /// The tokens' codes. Each token's bits come from one table entry (a match's length code,
    /// extra bits and distance bit premerged), and the bit buffer is stored whole after every
    /// token, so the loop has no branch on the token kind or on a full buffer.
    fn body(&mut self, tokens: &[u16], literal: &Code, body_bits: u64) {
        let mut table = [0u64; 256 + MAX_RUN + 1];
        for (token, entry) in table.iter_mut().enumerate() {
            let (value, count) = if token < 256 {
                (
                    u32::from(literal.codes[token]),
                    u32::from(literal.lengths[token]),
                )
            } else if token - 256 >= MIN_RUN {
                let code = self.lengths[token - 256];
                let symbol = usize::from(code.symbol);
                let length = u32::from(literal.lengths[symbol]);
                // Length code, its extra bits, then distance code 0 (a single 0 bit).
                (
                    u32::from(literal.codes[symbol]) | (u32::from(code.extra) << length),
                    length + u32::from(code.extra_bits) + 1,
                )
            } else {
                (0, 0)
            };
            *entry = u64::from(value) | (u64::from(count) << 32);
        }
        let BitWriter { out, acc, bits } = &mut self.bits;
        let (mut acc, mut bits) = (*acc, *bits);
        let mut at = out.len();
        // The pending bits and the block's (known from its counts), and 8 more bytes for the
        // last store's reach.
        out.resize(at + ((u64::from(bits) + body_bits) / 8) as usize + 9, 0);
        let buffer = out.as_mut_slice();
        // Two tokens per store: fewer than 8 + 2 × 21 bits are ever pending, below 64.
        let mut pairs = tokens.chunks_exact(2);
        let mut put = |entries: &[u64]| {
            for &entry in entries {
                acc |= (entry & 0xFFFF_FFFF) << bits;
                bits += (entry >> 32) as u32;
            }
            buffer[at..at + 8].copy_from_slice(&acc.to_le_bytes());
            let whole = bits / 8;
            at += whole as usize;
            acc >>= whole * 8;
            bits -= whole * 8;
        };
        for pair in &mut pairs {
            put(&[table[usize::from(pair[0])], table[usize::from(pair[1])]]);
        }
        if let [last] = pairs.remainder() {
            put(&[table[usize::from(*last)]]);
        }
        out.truncate(at);
        self.bits.acc = acc;
        self.bits.bits = bits;
        literal.put(&mut self.bits, END_OF_BLOCK);
    }

    /// Stored blocks (BTYPE 00) of at most 65,535 bytes each.
    fn stored(&mut self, data: &[u8], last: bool) {
        let pieces = data.chunks(0xFFFF).collect::<Vec<_>>();
        let pieces = if pieces.is_empty() {
            vec![data]
        } else {
            pieces
        };
        let count = pieces.len();
        for (index, piece) in pieces.into_iter().enumerate() {
            let final_piece = last && index + 1 == count;
            self.bits.put(u32::from(final_piece), 3);
            self.bits.align();
            let len = piece.len() as u16;
            self.bits.out.extend_from_slice(&len.to_le_bytes());
            self.bits.out.extend_from_slice(&(!len).to_le_bytes());
            self.bits.out.extend_from_slice(piece);
        }
    }

    /// Ends the stream (an empty last block if none was marked last) and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.bits.align();
        self.bits.out
    }
}

/// Compresses `data` into a raw DEFLATE stream in one call (the tests' and the profile's entry;
/// the zip writer streams through [`Deflater`]).
#[cfg(test)]
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut deflater = Deflater::new();
    let mut blocks = data.chunks(BLOCK).peekable();
    if blocks.peek().is_none() {
        deflater.block(&[], true);
    }
    while let Some(block) = blocks.next() {
        deflater.block(block, blocks.peek().is_none());
    }
    deflater.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn inflate(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("a valid DEFLATE stream");
        out
    }

    /// Floats like an activation grid: ReLU zeros in runs, positive values of a few magnitudes.
    fn activations(n: usize) -> Vec<u8> {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        (0..n)
            .flat_map(|_| {
                let r = next();
                let v = if r % 5 < 2 {
                    0.0f32
                } else {
                    (r % 1000) as f32 * 0.013
                };
                v.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn round_trips_float_data_and_shrinks_it() {
        let data = activations(100_000);
        let packed = compress(&data);
        assert_eq!(inflate(&packed), data);
        assert!(packed.len() < data.len() * 3 / 4, "{}", packed.len());
    }

    #[test]
    fn round_trips_edge_cases() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![7],
            vec![0; 3],
            vec![0; BLOCK * 2 + 5],
            vec![9; 259],
            (0..=255u8).collect(),
            (0..BLOCK * 2 + 1000)
                .map(|i| (i * 7919 % 251) as u8)
                .collect(),
        ];
        for data in cases {
            let packed = compress(&data);
            assert_eq!(inflate(&packed), data, "length {}", data.len());
        }
    }

    #[test]
    fn incompressible_input_is_stored_with_little_overhead() {
        let mut state = 99u64;
        let data: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let packed = compress(&data);
        assert_eq!(inflate(&packed), data);
        // 5 bytes of header per stored piece of at most 65,535 bytes of each block.
        let pieces: usize = data.chunks(BLOCK).map(|b| b.len().div_ceil(0xFFFF)).sum();
        assert!(packed.len() <= data.len() + 5 * pieces + 1);
    }

    #[test]
    fn deep_codes_are_limited_to_fifteen_bits() {
        // Fibonacci counts make the optimal Huffman code as deep as there are symbols.
        let mut counts = vec![0u32; SYMBOLS];
        let (mut a, mut b) = (1u32, 1u32);
        for count in counts.iter_mut().take(30) {
            *count = a;
            (a, b) = (b, a + b);
        }
        assert!(huffman_lengths(&counts).iter().any(|&l| l > 15));
        let lengths = code_lengths(&counts, 15);
        assert!(lengths.iter().all(|&l| l <= 15));
        let kraft: f64 = lengths
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 0.5f64.powi(i32::from(l)))
            .sum();
        assert!((kraft - 1.0).abs() < 1e-12, "{kraft}");
        // The same skew in real data round-trips.
        let data: Vec<u8> = counts
            .iter()
            .enumerate()
            .take(30)
            .flat_map(|(s, &c)| std::iter::repeat_n(s as u8, (c as usize).min(50_000)))
            .collect::<Vec<_>>()
            .chunks(3)
            .flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>())
            .collect();
        assert_eq!(inflate(&compress(&data)), data);
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(
            pieces in prop::collection::vec((any::<u8>(), 1usize..600), 0..60),
            noise in prop::collection::vec(any::<u8>(), 0..2000),
        ) {
            // Runs of every length around the match limits, mixed with noise.
            let mut data: Vec<u8> = pieces
                .iter()
                .flat_map(|&(b, n)| std::iter::repeat_n(b, n))
                .collect();
            data.extend_from_slice(&noise);
            prop_assert_eq!(inflate(&compress(&data)), data);
        }
    }
}

/// Our encoder against zlib-rs on one file, e.g. an `.npy` member of an activation artifact:
/// zlib level 1 (default strategy, through flate2, what the `zip` crate would use) and zlib-rs's
/// RLE strategy (matches at distance 1 only, the one kind of match our encoder looks for) at
/// levels 1 and 6. Seconds (best of 3) and bytes of each, each output inflated back and compared
/// with the input.
#[cfg(test)]
mod profile {
    use std::io::{Read, Write};
    use std::time::Instant;

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

    #[test]
    #[ignore = "a measurement, not a check: TDW_DEFLATE_INPUT=<file> cargo test --release -p tdw-core --lib profile_against_zlib_rs -- --ignored --nocapture"]
    fn profile_against_zlib_rs() {
        let path =
            std::env::var("TDW_DEFLATE_INPUT").expect("TDW_DEFLATE_INPUT: a file to compress");
        let data = std::fs::read(&path).expect("readable file");
        let (ours_s, ours) = best_of_three(|| super::compress(&data));
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
}
