//! Colour scales and the fixed colours of the view conventions (spec §6.2): train blue, test
//! orange, epoch indicator red, checkpoint markers green.

use plotters::style::RGBColor;

/// Training curves (Plotly's first colour).
pub const TRAIN: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// Test curves (Plotly's second colour).
pub const TEST: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// The epoch cursor.
pub const CURSOR: RGBColor = RGBColor(0xe0, 0x00, 0x00);
/// Checkpoint markers.
pub const CHECKPOINT: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
/// Reference lines and secondary text.
pub const GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);
/// Backgrounds of shaded spans.
pub const LIGHT_GREY: RGBColor = RGBColor(0xf0, 0xf0, 0xf0);
/// Cells with no value.
pub const WHITE_CELL: RGBColor = RGBColor(0xff, 0xff, 0xff);

/// The categorical palette (Plotly's / matplotlib's tab10) for series without a fixed colour.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The `i`-th palette colour, cycling.
pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A continuous colour scale: evenly spaced stops, linear interpolation between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorScale {
    /// Perceptually uniform, for magnitudes in [0, 1] (matplotlib's viridis).
    Viridis,
    /// Sequential white → dark blue, for probabilities (attention).
    Blues,
    /// Diverging blue → white → red, for signed values centred at 0.
    RdBu,
    /// Blue → red, for time (epoch colouring of trajectories).
    BlueRed,
}

const VIRIDIS: [u32; 9] = [
    0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c, 0x28ae80, 0x5ec962, 0xaddc30, 0xfde725,
];
const BLUES: [u32; 9] = [
    0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6, 0x4292c6, 0x2171b5, 0x08519c, 0x08306b,
];
/// ColorBrewer RdBu reversed, so negative is blue and positive red; the middle stop is 0.
const RDBU: [u32; 11] = [
    0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d,
    0xb2182b, 0x67001f,
];
const BLUERED: [u32; 2] = [0x0000ff, 0xff0000];

impl ColorScale {
    fn stops(self) -> &'static [u32] {
        match self {
            ColorScale::Viridis => &VIRIDIS,
            ColorScale::Blues => &BLUES,
            ColorScale::RdBu => &RDBU,
            ColorScale::BlueRed => &BLUERED,
        }
    }

    /// The colour at `t` in [0, 1] (clamped; NaN gives the lowest colour).
    pub fn at(self, t: f64) -> RGBColor {
        let stops = self.stops();
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let position = t * (stops.len() - 1) as f64;
        let lower = (position.floor() as usize).min(stops.len() - 2);
        let frac = position - lower as f64;
        let (a, b) = (unpack(stops[lower]), unpack(stops[lower + 1]));
        let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * frac).round() as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The colour of `value` on the range [`lo`, `hi`].
    pub fn map(self, value: f64, lo: f64, hi: f64) -> RGBColor {
        let span = hi - lo;
        let t = if span > 0.0 { (value - lo) / span } else { 0.5 };
        self.at(t)
    }
}

fn unpack(hex: u32) -> RGBColor {
    RGBColor((hex >> 16) as u8, (hex >> 8) as u8, hex as u8)
}

/// A hue wheel for categories with an order but no magnitude (Fourier frequencies 1..=n): the
/// neighbouring frequencies get neighbouring hues, stopping short of wrapping back to red.
pub fn hue(index: usize, count: usize) -> RGBColor {
    let h = 300.0 * index as f64 / count.max(1) as f64;
    hsl_to_rgb(h, 0.75, 0.5)
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> RGBColor {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = (h / 60.0) % 6.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(byte(r), byte(g), byte(b))
}

/// `#RRGGBB`, as plotters writes colours into SVG.
pub fn hex(color: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_scale_is_white_at_zero_and_ends_at_its_extremes() {
        assert_eq!(
            ColorScale::RdBu.map(0.0, -3.0, 3.0),
            RGBColor(0xf7, 0xf7, 0xf7)
        );
        assert_eq!(ColorScale::RdBu.map(-3.0, -3.0, 3.0), unpack(RDBU[0]));
        assert_eq!(ColorScale::RdBu.map(9.0, -3.0, 3.0), unpack(RDBU[10]));
        assert_eq!(ColorScale::Viridis.at(f64::NAN), unpack(VIRIDIS[0]));
    }

    #[test]
    fn hues_of_neighbouring_categories_differ() {
        assert_ne!(hue(0, 56), hue(1, 56));
        assert_eq!(hex(hue(0, 4)), "#DF2020");
    }
}
