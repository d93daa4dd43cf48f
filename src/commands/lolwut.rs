//! LOLWUT: a piece of generative art and the server's version. Ours draws
//! Georg Nees's "Schotter" (1968): a grid of squares that fall into more
//! disorder row by row, rendered with Braille characters (2x4 dots each).

use crate::command::flags::*;
use crate::command::{ArgExt, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd};
use crate::resp::Args;
use crate::util::{Rng, eq_ic};

pub static COMMANDS: &[CommandSpec] = &[cmd(
    "lolwut",
    -1,
    READONLY | FAST,
    NO_KEYS,
    "server",
    "5.0.0",
    "Displays computer art and the Redis version",
    lolwut,
)];

/// LOLWUT [VERSION version] [columns [squares-per-row [squares-per-col]]]
fn lolwut(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut at = 1;
    if args.len() >= 3 && eq_ic(&args[1], "version") {
        args.i64_at(2)?;
        at = 3;
    }
    // Numbers that are not there (or not numbers) take the defaults.
    let mut dims = [66i64, 8, 12];
    for (d, i) in dims.iter_mut().zip(at..args.len()) {
        *d = args.i64_at(i).unwrap_or(*d);
    }
    let cols = dims[0].clamp(1, 1000) as usize;
    let per_row = dims[1].clamp(1, 200) as usize;
    let per_col = dims[2].clamp(1, 200) as usize;
    let mut out = schotter(cols, per_row, per_col, &mut ctx.st.rng);
    out.push_str(&format!(
        "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {}\n",
        crate::REDIS_VERSION
    ));
    ctx.c.reply.verbatim(out.as_bytes(), "txt");
    Ok(())
}

/// A dot canvas, one bit per pixel.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<bool>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.px[y as usize * self.w + x as usize] = true;
        }
    }

    /// Bresenham's line.
    fn line(&mut self, (mut x0, mut y0): (i64, i64), (x1, y1): (i64, i64)) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.set(x0, y0);
            if x0 == x1 && y0 == y1 {
                return;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// Rows of Braille characters: dot (x, y) of a cell is bit
    /// 0,1,2,6 down the left column and 3,4,5,7 down the right.
    fn render(&self) -> String {
        const BIT: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let mut s = String::new();
        for cy in (0..self.h).step_by(4) {
            for cx in (0..self.w).step_by(2) {
                let mut b = 0;
                for (dx, col) in BIT.iter().enumerate() {
                    for (dy, bit) in col.iter().enumerate() {
                        let (x, y) = (cx + dx, cy + dy);
                        if x < self.w && y < self.h && self.px[y * self.w + x] {
                            b |= bit;
                        }
                    }
                }
                s.push(char::from_u32(0x2800 + b).unwrap_or(' '));
            }
            s.push('\n');
        }
        s
    }
}

/// `per_row` x `per_col` squares over `cols` characters of width; row r
/// of squares is turned and shifted at random by up to r / per_col of
/// the full amount.
fn schotter(cols: usize, per_row: usize, per_col: usize, rng: &mut Rng) -> String {
    let w = cols * 2;
    // At most 4M dots, however the arguments combine.
    const MAX_DOTS: usize = 1 << 22;
    let side = (w / (per_row + 2))
        .min(MAX_DOTS / (w * (per_col + 2)))
        .max(1);
    let h = side * (per_col + 2);
    let mut c = Canvas {
        w,
        h,
        px: vec![false; w * h],
    };
    let unit = |rng: &mut Rng| (rng.next() % 10_000) as f64 / 5_000.0 - 1.0;
    for row in 0..per_col {
        let disorder = row as f64 / per_col as f64;
        for col in 0..per_row {
            let angle = unit(rng) * disorder * std::f64::consts::FRAC_PI_4;
            let shift = side as f64 * disorder / 3.0;
            let cx = (col + 1) as f64 * side as f64 + side as f64 / 2.0 + unit(rng) * shift;
            let cy = (row + 1) as f64 * side as f64 + side as f64 / 2.0 + unit(rng) * shift;
            let r = side as f64 / 2.0;
            let corner = |k: usize| {
                let a =
                    angle + std::f64::consts::FRAC_PI_4 + k as f64 * std::f64::consts::FRAC_PI_2;
                let d = r * std::f64::consts::SQRT_2;
                (
                    (cx + d * a.cos()).round() as i64,
                    (cy + d * a.sin()).round() as i64,
                )
            };
            for k in 0..4 {
                c.line(corner(k), corner((k + 1) % 4));
            }
        }
    }
    c.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_within_bounds() {
        let mut rng = Rng::new();
        let s = schotter(20, 3, 4, &mut rng);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() == 20));
        assert!(s.chars().any(|ch| ch != '\u{2800}' && ch != '\n'));
        // The degenerate sizes still draw something sane.
        let tiny = schotter(1, 200, 1, &mut rng);
        assert_eq!(tiny.lines().next().map(|l| l.chars().count()), Some(1));
        let tall = schotter(1000, 1, 200, &mut rng);
        assert!(tall.lines().count() * 2000 * 4 <= (1 << 22) + 2000 * 4);
    }
}
