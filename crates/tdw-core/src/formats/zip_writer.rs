//! Writing zip archives whose members are compressed by [`deflate`](super::deflate).
//!
//! The `zip` crate reads our archives; it writes only through its own compressors, so the few
//! headers are written here (PKWARE APPNOTE 6.3, sections 4.3 and 4.5). Like numpy's
//! `savez_compressed` every member and the end record carry zip64 fields, so one code path serves
//! any size; timestamps are 1980-01-01 so the same arrays give the same bytes.

use std::io::{self, Write};

use super::deflate::{BLOCK, Deflater};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const END: u32 = 0x0605_4b50;
/// Version 4.5: zip64.
const VERSION: u16 = 45;
/// Made by Unix (3), so the external attributes below are file permissions.
const MADE_BY: u16 = (3 << 8) | VERSION;
const DEFLATED: u16 = 8;
/// MS-DOS date of 1980-01-01 (time 00:00 is 0).
const DOS_DATE: u16 = (1 << 5) | 1;
/// A regular file, rw-r--r--.
const EXTERNAL_ATTRIBUTES: u32 = 0o100644 << 16;
const ZIP64_EXTRA: u16 = 0x0001;

/// One member as the central directory lists it.
struct Entry {
    name: String,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// A zip archive being written to `out`, one member at a time.
pub struct ZipWriter<W: Write> {
    out: W,
    written: u64,
    entries: Vec<Entry>,
}

/// The data of one member: hashed, then compressed a block at a time as it arrives.
pub struct Member {
    pending: Vec<u8>,
    deflater: Deflater,
    crc: crc32fast::Hasher,
    size: u64,
}

impl Write for Member {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let taken = data.len();
        self.crc.update(data);
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.pending.is_empty() && data.len() >= BLOCK {
                self.deflater.block(&data[..BLOCK], false);
                data = &data[BLOCK..];
                continue;
            }
            let fits = (BLOCK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..fits]);
            data = &data[fits..];
            if self.pending.len() == BLOCK {
                self.deflater.block(&self.pending, false);
                self.pending.clear();
            }
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> ZipWriter<W> {
    /// A writer of a zip archive into `out`.
    pub fn new(out: W) -> ZipWriter<W> {
        ZipWriter {
            out,
            written: 0,
            entries: Vec::new(),
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Adds a member named `name` whose data `fill` writes. The member is compressed in memory,
    /// then written with its sizes and CRC in the local header.
    pub fn member(
        &mut self,
        name: &str,
        fill: impl FnOnce(&mut Member) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut member = Member {
            pending: Vec::with_capacity(BLOCK),
            deflater: Deflater::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
        };
        fill(&mut member)?;
        let Member {
            pending,
            mut deflater,
            crc,
            size,
        } = member;
        deflater.block(&pending, true);
        let data = deflater.finish();
        let entry = Entry {
            name: name.to_string(),
            crc: crc.finalize(),
            compressed: data.len() as u64,
            size,
            offset: self.written,
        };
        let name_len = u16::try_from(name.len())
            .map_err(|_| io::Error::other(format!("member name too long: {name}")))?;
        let mut header = Vec::with_capacity(30 + name.len() + 20);
        header.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        for field in [VERSION, 0, DEFLATED, 0, DOS_DATE] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        for field in [entry.crc, u32::MAX, u32::MAX] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        for field in [name_len, 20] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        header.extend_from_slice(name.as_bytes());
        for field in [ZIP64_EXTRA, 16] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        for field in [entry.size, entry.compressed] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        self.put(&header)?;
        self.put(&data)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Writes the central directory and the end records; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let directory_start = self.written;
        let mut directory = Vec::new();
        for entry in &self.entries {
            directory.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
            for field in [MADE_BY, VERSION, 0, DEFLATED, 0, DOS_DATE] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            for field in [entry.crc, u32::MAX, u32::MAX] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            // Name length (checked when the member was written), extra length, comment length,
            // start disk, internal attributes.
            for field in [entry.name.len() as u16, 28, 0, 0, 0] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            for field in [EXTERNAL_ATTRIBUTES, u32::MAX] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            directory.extend_from_slice(entry.name.as_bytes());
            for field in [ZIP64_EXTRA, 24] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            for field in [entry.size, entry.compressed, entry.offset] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
        }
        let count = self.entries.len() as u64;
        let zip64_end = directory_start + directory.len() as u64;
        // Zip64 end of central directory record, then its locator.
        directory.extend_from_slice(&ZIP64_END.to_le_bytes());
        directory.extend_from_slice(&44u64.to_le_bytes());
        for field in [MADE_BY, VERSION] {
            directory.extend_from_slice(&field.to_le_bytes());
        }
        directory.extend_from_slice(&[0; 8]); // this disk, the directory's disk
        let directory_len = zip64_end - directory_start;
        for field in [count, count, directory_len, directory_start] {
            directory.extend_from_slice(&field.to_le_bytes());
        }
        directory.extend_from_slice(&ZIP64_LOCATOR.to_le_bytes());
        directory.extend_from_slice(&0u32.to_le_bytes());
        directory.extend_from_slice(&zip64_end.to_le_bytes());
        directory.extend_from_slice(&1u32.to_le_bytes());
        // The classic end record, its fields saturated so readers turn to the zip64 one.
        directory.extend_from_slice(&END.to_le_bytes());
        let short_count = u16::try_from(count).unwrap_or(u16::MAX);
        for field in [0, 0, short_count, short_count] {
            directory.extend_from_slice(&field.to_le_bytes());
        }
        for field in [u32::MAX, u32::MAX] {
            directory.extend_from_slice(&field.to_le_bytes());
        }
        directory.extend_from_slice(&0u16.to_le_bytes());
        self.put(&directory)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    #[test]
    fn the_zip_crate_reads_members_back_with_their_names_and_crcs() {
        let big: Vec<u8> = (0..BLOCK * 3 + 17).map(|i| (i % 7 * 40) as u8).collect();
        let mut zip = ZipWriter::new(Vec::new());
        zip.member("empty.npy", |_| Ok(())).unwrap();
        zip.member("big.npy", |m| {
            // Pieces that straddle block boundaries.
            for piece in big.chunks(BLOCK / 3 + 5) {
                m.write_all(piece)?;
            }
            Ok(())
        })
        .unwrap();
        zip.member("small.npy", |m| m.write_all(b"hello")).unwrap();
        let bytes = zip.finish().unwrap();

        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(
            archive.file_names().collect::<Vec<_>>(),
            ["empty.npy", "big.npy", "small.npy"]
        );
        for (name, expected) in [
            ("empty.npy", &b""[..]),
            ("big.npy", &big),
            ("small.npy", b"hello"),
        ] {
            let mut member = archive.by_name(name).unwrap();
            assert_eq!(member.compression(), zip::CompressionMethod::Deflated);
            assert_eq!(member.size(), expected.len() as u64);
            let mut data = Vec::new();
            // Reading to the end checks the CRC.
            member.read_to_end(&mut data).unwrap();
            assert_eq!(data, expected, "{name}");
        }
    }

    #[test]
    fn a_corrupted_member_fails_to_read() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * i % 251) as u8).collect();
        let mut zip = ZipWriter::new(Vec::new());
        zip.member("a.npy", |m| m.write_all(&data)).unwrap();
        let mut bytes = zip.finish().unwrap();
        // Member data starts after the 30-byte local header, the name and the 20-byte extra.
        let middle = 30 + "a.npy".len() + 20 + 1000;
        bytes[middle] ^= 0x10;
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut back = Vec::new();
        let read = archive.by_index(0).unwrap().read_to_end(&mut back);
        assert!(read.is_err(), "a flipped bit went unnoticed");
    }
}
