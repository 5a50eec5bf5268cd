//! Pictures: the course's map of chosen words and the training loss curve, as PNG files.
//!
//! [`plot_words`] draws the course's figure. The chosen word vectors (rows of `X`, `N×M`)
//! are centred, `X̄ = X − mean(X)`, and projected onto the top two right singular vectors
//! `v_1`, `v_2` of `X̄`: word `i` goes to `(x̄_iᵀ v_1, x̄_iᵀ v_2)`. Each of these points is then
//! scaled to unit length, so the picture shows directions only, and drawn with its word.
//! [`project_2d`] is that projection on its own. [`plot_loss`] draws the mean loss per pair
//! against the words processed, from the [`Progress`](crate::Progress) reports;
//! [`plot_training`] draws the online and the held-out loss together, and below them `W`'s
//! distance from the identity and the logarithm of its condition number.
//!
//! The singular vectors come from an exact symmetric eigen-decomposition (cyclic Jacobi
//! rotations in `f64`, no LAPACK): of `X̄ᵀX̄` (`M×M`), whose eigenvectors are the `v_k`, or,
//! when there are fewer words than dimensions, of the Gram matrix `X̄X̄ᵀ` (`N×N`), whose
//! eigenvectors `u_k` and eigenvalues `s_k²` give the same coordinates, `X̄ v_k = s_k u_k`.
//!
//! Text is drawn with a subset of DejaVu Sans (Latin, Greek and Cyrillic) embedded in the
//! crate, so no system font is needed and a picture looks the same on every machine. Every
//! picture is rendered in memory and written with [`write_atomic`].

use std::path::Path;
use std::sync::OnceLock;

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip, s};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ConfigError, Error, Result};
use crate::io::write_atomic;

/// Width and height in pixels of the pictures [`plot_words`] and [`plot_loss`] write.
pub const PICTURE_SIZE: (u32, u32) = (800, 600);

/// The embedded font: DejaVu Sans cut down to Latin, Greek, Cyrillic and punctuation
/// (`assets/README.md` gives the command; `assets/DejaVuSans-LICENSE.txt` the licence).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// The name the embedded font is registered under with plotters.
const FONT: &str = "bilinear-skipgram DejaVu Sans";

const TITLE_SIZE: f64 = 24.0;
const SMALLEST_TITLE_SIZE: f64 = 12.0;
const LABEL_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 14.0;

const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MARK: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const GUIDE: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);

/// Rows whose projection is shorter than this fraction of the longest one sit at the mean,
/// and axes whose singular value is below this fraction of the first carry no spread: both
/// are rounding noise of `f32` input, so they are drawn as zero instead of being blown up
/// to unit length.
const RELATIVE_NOISE: f64 = 1e-6;

type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Projects word vectors to 2-D as the course's figure does: centre the rows, project them
/// onto the top two right singular vectors of the centred matrix, scale each projected row
/// to unit length.
///
/// Returns an `N×2` array, one row per input row. Each axis is oriented so that the row
/// farthest along it (the first of equally far rows) has a positive coordinate. A row whose projection is zero (up to
/// rounding of `f32` input), for example the middle one of three words on a line, stays at
/// the origin instead of being scaled; so does the second coordinate when all rows lie on
/// one line.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for fewer than two rows or no columns,
/// [`Error::Config`] with [`ConfigError::NotFinite`] for a NaN or infinite entry.
///
/// # Example
///
/// ```
/// use bilinear_skipgram::plot::project_2d;
/// use ndarray::array;
///
/// // Four words on a line in 3-D, far from the origin. Centred (the mean is 14), the line
/// // is the first axis, oriented towards the farthest word (20); the word at the mean
/// // stays at the origin.
/// let words = array![[10.0_f32, 5.0, 5.0], [12.0, 5.0, 5.0], [14.0, 5.0, 5.0], [20.0, 5.0, 5.0]];
/// let points = project_2d(words.view())?;
/// assert_eq!(points, array![[-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
pub fn project_2d(vectors: ArrayView2<f32>) -> Result<Array2<f32>> {
    let coords = principal_coordinates(vectors)?;
    let longest = coords
        .rows()
        .into_iter()
        .map(|row| row.dot(&row).sqrt())
        .fold(0.0_f64, f64::max);
    let mut unit = Array2::<f32>::zeros(coords.raw_dim());
    Zip::from(unit.rows_mut())
        .and(coords.rows())
        .for_each(|mut out, row| {
            let norm = row.dot(&row).sqrt();
            if norm > RELATIVE_NOISE * longest {
                Zip::from(&mut out)
                    .and(&row)
                    .for_each(|o, &c| *o = (c / norm) as f32);
            }
        });
    Ok(unit)
}

/// The centred rows' coordinates on the top two principal axes, in `f64`, not yet scaled.
fn principal_coordinates(vectors: ArrayView2<f32>) -> Result<Array2<f64>> {
    let (n_rows, n_cols) = vectors.dim();
    if n_rows < 2 || n_cols == 0 {
        return Err(Error::ShapeMismatch {
            what: "word vectors to project (at least 2 rows, 1 column)",
            expected: vec![n_rows.max(2), n_cols.max(1)],
            found: vec![n_rows, n_cols],
        });
    }
    if let Some(&bad) = vectors.iter().find(|x| !x.is_finite()) {
        return Err(Error::Config(ConfigError::NotFinite {
            field: "word vectors to project",
            value: f64::from(bad),
        }));
    }
    let mut centred = vectors.mapv(f64::from);
    let mean = centred.sum_axis(Axis(0)) / n_rows as f64;
    centred -= &mean;

    let mut coords = Array2::<f64>::zeros((n_rows, 2));
    let n_axes = n_rows.min(n_cols).min(2);
    let singular_values = if n_rows <= n_cols {
        // X̄ v_k = s_k u_k: the Gram matrix's eigenvectors scaled by the singular values.
        let (values, vectors) = symmetric_eigen(centred.dot(&centred.t()));
        let singular = values.mapv(|l| l.max(0.0).sqrt());
        coords
            .slice_mut(s![.., ..n_axes])
            .assign(&(&vectors.slice(s![.., ..n_axes]) * &singular.slice(s![..n_axes])));
        singular
    } else {
        let (values, vectors) = symmetric_eigen(centred.t().dot(&centred));
        coords
            .slice_mut(s![.., ..n_axes])
            .assign(&centred.dot(&vectors.slice(s![.., ..n_axes])));
        values.mapv(|l| l.max(0.0).sqrt())
    };
    let first = singular_values.first().copied().unwrap_or(0.0);
    for (k, mut column) in coords.columns_mut().into_iter().enumerate() {
        let spread = singular_values.get(k).copied().unwrap_or(0.0);
        if spread <= RELATIVE_NOISE * first {
            column.fill(0.0);
            continue;
        }
        // Orient the axis so that the row farthest along it is on its positive side.
        let farthest =
            column.iter().copied().fold(
                0.0_f64,
                |best, c| {
                    if c.abs() > best.abs() { c } else { best }
                },
            );
        if farthest < 0.0 {
            column.mapv_inplace(|c| -c);
        }
    }
    Ok(coords)
}

/// Eigenvalues (descending) and eigenvectors (the matching columns) of a symmetric matrix,
/// by cyclic Jacobi rotations: each rotation zeroes one off-diagonal pair, and sweeps repeat
/// until the off-diagonal part is negligible against the whole matrix. Exact to rounding for
/// any symmetric input, including repeated eigenvalues.
fn symmetric_eigen(mut a: Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    const MAX_SWEEPS: usize = 64;
    let n = a.nrows();
    let mut v = Array2::<f64>::eye(n);
    let total = a.iter().map(|x| x * x).sum::<f64>();
    for _ in 0..MAX_SWEEPS {
        let off_diagonal = a
            .indexed_iter()
            .filter(|((i, j), _)| i != j)
            .map(|(_, x)| x * x)
            .sum::<f64>();
        if off_diagonal <= f64::EPSILON * f64::EPSILON * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[(p, q)];
                if apq == 0.0 {
                    continue;
                }
                // Golub and Van Loan, symmetric Schur decomposition of the (p, q) block.
                let tau = (a[(q, q)] - a[(p, p)]) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + tau.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                rotate(a.multi_slice_mut((s![.., p], s![.., q])), c, s);
                rotate(a.multi_slice_mut((s![p, ..], s![q, ..])), c, s);
                rotate(v.multi_slice_mut((s![.., p], s![.., q])), c, s);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[(j, j)].total_cmp(&a[(i, i)]));
    let values = order.iter().map(|&i| a[(i, i)]).collect();
    let vectors = v.select(Axis(1), &order);
    (values, vectors)
}

/// `(x, y) ← (c x − s y, s x + c y)` elementwise over two lines of a matrix.
fn rotate(
    (mut x, mut y): (ndarray::ArrayViewMut1<f64>, ndarray::ArrayViewMut1<f64>),
    c: f64,
    s: f64,
) {
    Zip::from(&mut x).and(&mut y).for_each(|x, y| {
        let (xp, yq) = (*x, *y);
        *x = c * xp - s * yq;
        *y = s * xp + c * yq;
    });
}

/// Draws the course's figure of the chosen words and writes it as a PNG of
/// [`PICTURE_SIZE`]: the rows of `vectors` (one per label) are projected with
/// [`project_2d`], drawn as dots on the unit circle, each with its label, and the picture is
/// titled `title`. Labels may be in any script the embedded font covers (Latin, Greek,
/// Cyrillic); labels that would overlap are moved apart, with a thin line to their dot.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for fewer than two rows, no columns, or a label count that is
/// not the row count; [`Error::Config`] with [`ConfigError::NotFinite`] for a NaN or
/// infinite entry; [`Error::Format`] naming `path` when drawing or PNG encoding fails;
/// [`Error::File`] when the file cannot be written.
pub fn plot_words(
    path: impl AsRef<Path>,
    vectors: ArrayView2<f32>,
    labels: &[&str],
    title: &str,
) -> Result<()> {
    let path = path.as_ref();
    if labels.len() != vectors.nrows() {
        return Err(Error::ShapeMismatch {
            what: "labels (one per word vector)",
            expected: vec![vectors.nrows()],
            found: vec![labels.len()],
        });
    }
    let points = project_2d(vectors)?;
    write_png(path, |root| draw_words(root, &points, labels, title))
}

/// Draws the training loss curve and writes it as a PNG of [`PICTURE_SIZE`]: `points` are
/// `(words processed, mean loss per pair over the interval)`, as in
/// [`Progress::words_done`](crate::Progress::words_done) and
/// [`Progress::interval_loss`](crate::Progress::interval_loss). Points whose loss is NaN or
/// infinite (an interval without pairs) are skipped.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when no point has a finite loss; [`Error::Format`] naming
/// `path` when drawing or PNG encoding fails; [`Error::File`] when the file cannot be
/// written.
pub fn plot_loss(path: impl AsRef<Path>, points: &[(u64, f64)], title: &str) -> Result<()> {
    let path = path.as_ref();
    let finite: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, loss)| loss.is_finite())
        .map(|&(words, loss)| (words as f64, loss))
        .collect();
    if finite.is_empty() {
        return Err(Error::ShapeMismatch {
            what: "loss points with a finite loss (at least 1)",
            expected: vec![1],
            found: vec![0],
        });
    }
    write_png(path, |root| draw_loss(root, &finite, title))
}

/// The curves of a training run that [`plot_training`] draws, each a list of
/// `(words processed, value)`; collect them from the progress reports with
/// [`TrainingCurves::record`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TrainingCurves {
    /// The online loss: [`Progress::interval_loss`](crate::Progress::interval_loss).
    pub online_loss: Vec<(u64, f64)>,
    /// The held-out loss: [`Progress::heldout_loss`](crate::Progress::heldout_loss).
    pub heldout_loss: Vec<(u64, f64)>,
    /// `‖W − I‖_F`.
    pub interaction_distance: Vec<(u64, f64)>,
    /// `W`'s condition number `σ_max / σ_min` (drawn as its base-10 logarithm).
    pub interaction_condition: Vec<(u64, f64)>,
}

impl TrainingCurves {
    /// No points yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The curves of a finished run at the end of each epoch, from its report: what can be
    /// drawn of a run whose progress reports were not seen, such as one [`resume`]
    /// returns from a finished run's checkpoint without training. Epoch `e` (from 0) of
    /// `n` ends at `words · (e + 1) / n` words, since every epoch reads the whole corpus. A
    /// stopped run's report ([`stopped_early`](crate::TrainReport::stopped_early)) has a
    /// partial last epoch, which this would misplace: draw its progress reports instead.
    ///
    /// [`resume`]: crate::resume
    pub fn from_epochs(report: &crate::TrainReport) -> Self {
        let n_epochs = report.epoch_losses.len() as u64;
        let end = |epoch: usize| report.words * (epoch as u64 + 1) / n_epochs.max(1);
        let mut curves = Self::new();
        for (epoch, &loss) in report.epoch_losses.iter().enumerate() {
            curves.online_loss.push((end(epoch), loss));
        }
        for (epoch, loss) in report.epoch_heldout_losses.iter().enumerate() {
            if let Some(loss) = *loss {
                curves.heldout_loss.push((end(epoch), loss));
            }
        }
        for (epoch, d) in report.epoch_interactions.iter().enumerate() {
            if let Some(d) = d {
                curves
                    .interaction_distance
                    .push((end(epoch), d.distance_from_identity));
                curves
                    .interaction_condition
                    .push((end(epoch), d.condition_number));
            }
        }
        curves
    }

    /// Adds the values of one progress report: its online loss, and its held-out loss and
    /// `W`'s diagnostics when the report has them.
    pub fn record(&mut self, progress: &crate::Progress) {
        let words = progress.words_done;
        self.online_loss.push((words, progress.interval_loss));
        if let Some(loss) = progress.heldout_loss {
            self.heldout_loss.push((words, loss));
        }
        if let Some(d) = progress.interaction {
            self.interaction_distance
                .push((words, d.distance_from_identity));
            self.interaction_condition.push((words, d.condition_number));
        }
    }
}

/// Draws a training run and writes it as a PNG of [`PICTURE_SIZE`]: the online loss and
/// the held-out loss per pair against the words processed in the upper panel, and, if
/// there are any, `‖W − I‖_F` (left axis) and `log₁₀` of `W`'s condition number (right axis)
/// in the lower one. Non-finite values are skipped.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when neither loss has a finite point; [`Error::Format`] naming
/// `path` when drawing or PNG encoding fails; [`Error::File`] when the file cannot be
/// written.
pub fn plot_training(path: impl AsRef<Path>, curves: &TrainingCurves, title: &str) -> Result<()> {
    let path = path.as_ref();
    let finite = |points: &[(u64, f64)], f: fn(f64) -> f64| -> Vec<(f64, f64)> {
        points
            .iter()
            .map(|&(words, y)| (words as f64, f(y)))
            .filter(|(_, y)| y.is_finite())
            .collect()
    };
    let same = |y: f64| y;
    let panels = TrainingPanels {
        online: finite(&curves.online_loss, same),
        heldout: finite(&curves.heldout_loss, same),
        distance: finite(&curves.interaction_distance, same),
        log_condition: finite(&curves.interaction_condition, f64::log10),
    };
    if panels.online.is_empty() && panels.heldout.is_empty() {
        return Err(Error::ShapeMismatch {
            what: "loss points with a finite loss (at least 1)",
            expected: vec![1],
            found: vec![0],
        });
    }
    write_png(path, |root| draw_training(root, &panels, title))
}

/// The finite points of [`TrainingCurves`], as drawn.
struct TrainingPanels {
    online: Vec<(f64, f64)>,
    heldout: Vec<(f64, f64)>,
    distance: Vec<(f64, f64)>,
    log_condition: Vec<(f64, f64)>,
}

/// Registers the embedded font with plotters once per process.
fn font_ready() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// Renders into an RGB buffer with `draw`, encodes it as PNG and writes it atomically.
fn write_png(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult,
) -> Result<()> {
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    if !font_ready() {
        return Err(format_error("the embedded font could not be loaded".into()));
    }
    let (width, height) = PICTURE_SIZE;
    let mut pixels = vec![255_u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::with_buffer_and_format(&mut pixels, (width, height))
            .map_err(|e| format_error(format!("cannot create the picture: {e}")))?;
        let root = backend.into_drawing_area();
        draw(&root)
            .and_then(|()| Ok(root.present()?))
            .map_err(|e| format_error(format!("cannot draw the picture: {e}")))?;
    }
    write_atomic(path, |writer| {
        let mut encoder = png::Encoder::new(writer, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let png_error = |e: png::EncodingError| match e {
            png::EncodingError::IoError(source) => Error::File {
                path: path.to_path_buf(),
                source,
            },
            other => format_error(format!("cannot encode PNG: {other}")),
        };
        let mut png = encoder.write_header().map_err(png_error)?;
        png.write_image_data(&pixels).map_err(png_error)?;
        png.finish().map_err(png_error)
    })
}

fn text_style(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&INK)
}

/// Draws `title` at the top, shrinking it until it fits (and cutting it short with `…` if
/// even the smallest size is too wide), and returns the area below.
fn titled<'a>(
    root: &DrawingArea<BitMapBackend<'a>, Shift>,
    title: &str,
) -> DrawResult<DrawingArea<BitMapBackend<'a>, Shift>> {
    let (width, _) = root.dim_in_pixel();
    let fits = |text: &str, size: f64| -> DrawResult<bool> {
        Ok(root.estimate_text_size(text, &text_style(size))?.0 + 16 <= width)
    };
    let mut size = TITLE_SIZE;
    while size > SMALLEST_TITLE_SIZE && !fits(title, size)? {
        size -= 1.0;
    }
    let mut title = title.to_string();
    while !fits(&title, size)? {
        let Some(last) = title.trim_end_matches('…').chars().last() else {
            break;
        };
        let keep = title.trim_end_matches('…').len() - last.len_utf8();
        title.truncate(keep);
        title.push('…');
    }
    root.fill(&WHITE)?;
    let below = root.margin(6, 0, 0, 0).titled(&title, text_style(size))?;
    Ok(below.margin(8, 0, 0, 0))
}

/// A label's box in backend pixels: left, top, width, height; plus its dot.
#[derive(Debug, Clone, Copy)]
struct LabelBox {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    dot: (i32, i32),
}

impl LabelBox {
    fn overlap(&self, other: &LabelBox) -> (f64, f64) {
        let x = (self.left + self.width).min(other.left + other.width) - self.left.max(other.left);
        let y = (self.top + self.height).min(other.top + other.height) - self.top.max(other.top);
        (x, y)
    }
}

/// Pushes overlapping label boxes apart vertically, a little at a time, and keeps them
/// inside `bounds` (left, top, right, bottom).
fn spread_labels(boxes: &mut [LabelBox], bounds: (f64, f64, f64, f64)) {
    const GAP: f64 = 2.0;
    for _ in 0..200 {
        let mut moved = false;
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                let (x, y) = boxes[i].overlap(&boxes[j]);
                if x > 0.0 && y > -GAP {
                    let push = (y + GAP) / 2.0 + 0.5;
                    let (upper, lower) = if boxes[i].top <= boxes[j].top {
                        (i, j)
                    } else {
                        (j, i)
                    };
                    boxes[upper].top -= push;
                    boxes[lower].top += push;
                    moved = true;
                }
            }
        }
        for b in boxes.iter_mut() {
            b.left = b.left.clamp(bounds.0, (bounds.2 - b.width).max(bounds.0));
            b.top = b.top.clamp(bounds.1, (bounds.3 - b.height).max(bounds.1));
        }
        if !moved {
            break;
        }
    }
}

fn draw_words(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    points: &Array2<f32>,
    labels: &[&str],
    title: &str,
) -> DrawResult {
    let area = titled(root, title)?;
    let label_style = text_style(LABEL_SIZE);
    let tick_style = text_style(TICK_SIZE);
    let sizes = labels
        .iter()
        .map(|label| root.estimate_text_size(label, &label_style))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let widest = sizes.iter().map(|&(w, _)| f64::from(w)).fold(0.0, f64::max);
    let line_height = f64::from(root.estimate_text_size("Ёgy", &label_style)?.1);
    let gap = 8.0;

    let chart_builder = |x_half: f64, y_half: f64| {
        let mut builder = ChartBuilder::on(&area);
        builder
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(50);
        builder.build_cartesian_2d(-x_half..x_half, -y_half..y_half)
    };
    // Size the unit circle so that the labels around it fit and it stays round.
    let (plot_width, plot_height) = chart_builder(1.0, 1.0)?.plotting_area().dim_in_pixel();
    let (plot_width, plot_height) = (f64::from(plot_width), f64::from(plot_height));
    let radius = (plot_width / 2.0 - widest - gap - 4.0)
        .min(plot_height / 2.0 - line_height - gap)
        .max(plot_width.min(plot_height) / 4.0);
    let (x_half, y_half) = (plot_width / 2.0 / radius, plot_height / 2.0 / radius);
    let mut chart = chart_builder(x_half, y_half)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(tick_style.clone())
        .axis_desc_style(tick_style)
        .x_desc("first principal axis")
        .y_desc("second principal axis")
        .draw()?;
    chart.draw_series(LineSeries::new(
        (0..=360).map(|d| {
            let a = f64::from(d).to_radians();
            (a.cos(), a.sin())
        }),
        GUIDE,
    ))?;

    let mut boxes: Vec<LabelBox> = points
        .rows()
        .into_iter()
        .zip(&sizes)
        .map(|(p, &(w, _))| {
            let (x, y) = (f64::from(p[0]), f64::from(p[1]));
            let dot = chart.backend_coord(&(x, y));
            // Outward from the circle: right of dots on the right half, left of the others.
            let width = f64::from(w);
            let (dx, dy) = if x == 0.0 && y == 0.0 {
                (1.0, 0.0)
            } else {
                (x, -y)
            };
            let left = if dx >= 0.0 {
                f64::from(dot.0) + gap * dx.max(0.3)
            } else {
                f64::from(dot.0) + gap * dx.min(-0.3) - width
            };
            let top = f64::from(dot.1) + gap * dy - line_height / 2.0;
            LabelBox {
                left,
                top,
                width,
                height: line_height,
                dot,
            }
        })
        .collect();
    let (width, height) = root.dim_in_pixel();
    let top_of_area = f64::from(area.get_base_pixel().1);
    let placed: Vec<LabelBox> = boxes.clone();
    spread_labels(
        &mut boxes,
        (
            2.0,
            top_of_area,
            f64::from(width) - 2.0,
            f64::from(height) - 2.0,
        ),
    );

    for ((label, b), first) in labels.iter().zip(&boxes).zip(&placed) {
        let centre = (b.left + b.width / 2.0, b.top + b.height / 2.0);
        let attach = (
            if centre.0 >= f64::from(b.dot.0) {
                b.left
            } else {
                b.left + b.width
            },
            centre.1,
        );
        // A label moved well away from its first place gets a line back to its dot.
        let moved = (b.left - first.left).hypot(b.top - first.top);
        if moved > line_height / 2.0 {
            root.draw(&PathElement::new(
                vec![b.dot, (attach.0 as i32, attach.1 as i32)],
                GUIDE,
            ))?;
        }
        root.draw(&Circle::new(b.dot, 4, MARK.filled()))?;
        root.draw(&Text::new(
            label.to_string(),
            (b.left as i32, centre.1 as i32),
            label_style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// `1234567` as `1.2M` and `5000000` as `5M`, for axis ticks.
fn short_count(x: f64) -> String {
    let (scaled, unit) = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|&(scale, _)| x.abs() >= scale)
        .map_or((x, ""), |(scale, unit)| (x / scale, unit));
    let digits = format!("{scaled:.1}");
    format!("{}{unit}", digits.strip_suffix(".0").unwrap_or(&digits))
}

/// The smallest and largest value of the chosen coordinate, widened a little (and to a
/// width of at least `min_width`) so that the curve does not touch the frame.
fn padded_range<'p>(
    points: impl Iterator<Item = &'p (f64, f64)>,
    coordinate: fn(&(f64, f64)) -> f64,
    min_width: f64,
) -> (f64, f64) {
    let (lo, hi) = points
        .map(coordinate)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(min_width * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// Enough decimals to tell about eight ticks apart over `lo..hi`, and no more.
fn tick_decimals(lo: f64, hi: f64) -> usize {
    (-((hi - lo) / 8.0).log10()).ceil().clamp(0.0, 6.0) as usize
}

const HELDOUT: RGBColor = RGBColor(0xd6, 0x5f, 0x00);
const DISTANCE: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const CONDITION: RGBColor = RGBColor(0xc0, 0x20, 0x20);

fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

fn draw_training(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    panels: &TrainingPanels,
    title: &str,
) -> DrawResult {
    let area = titled(root, title)?;
    let all = || {
        panels
            .online
            .iter()
            .chain(&panels.heldout)
            .chain(&panels.distance)
            .chain(&panels.log_condition)
    };
    let (x_lo, x_hi) = padded_range(all(), |p| p.0, 0.0);
    let x_range = (x_lo.max(0.0).min(x_hi - 1.0))..x_hi.max(x_lo + 1.0);
    let diagnostics = !panels.distance.is_empty() || !panels.log_condition.is_empty();
    let (upper, lower) = if diagnostics {
        let height = area.dim_in_pixel().1;
        let (upper, lower) = area.split_vertically(height * 3 / 5);
        (upper, Some(lower))
    } else {
        (area, None)
    };
    draw_loss_panel(&upper, panels, x_range.clone(), lower.is_none())?;
    if let Some(lower) = lower {
        draw_interaction_panel(&lower, panels, x_range)?;
    }
    Ok(())
}

fn draw_loss_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panels: &TrainingPanels,
    x_range: std::ops::Range<f64>,
    x_labels: bool,
) -> DrawResult {
    let tick_style = text_style(TICK_SIZE);
    let (y_lo, y_hi) = padded_range(panels.online.iter().chain(&panels.heldout), |p| p.1, 1e-3);
    let decimals = tick_decimals(y_lo, y_hi);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(74)
        .x_label_area_size(if x_labels { 46 } else { 10 })
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .x_labels(if x_labels { 8 } else { 0 })
        .y_labels(6)
        .x_label_formatter(&|x| short_count(*x))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style(tick_style.clone())
        .axis_desc_style(tick_style.clone())
        .x_desc(if x_labels { "words processed" } else { "" })
        .y_desc("mean loss per pair")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            panels.online.iter().copied(),
            MARK.stroke_width(2),
        ))?
        .label("online (pairs trained on)")
        .legend(legend_line(MARK));
    if !panels.heldout.is_empty() {
        chart
            .draw_series(LineSeries::new(
                panels.heldout.iter().copied(),
                HELDOUT.stroke_width(2),
            ))?
            .label("held out")
            .legend(legend_line(HELDOUT));
        chart.draw_series(
            panels
                .heldout
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, HELDOUT.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(GUIDE)
        .label_font(tick_style)
        .draw()?;
    Ok(())
}

fn draw_interaction_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panels: &TrainingPanels,
    x_range: std::ops::Range<f64>,
) -> DrawResult {
    let tick_style = text_style(TICK_SIZE);
    let (d_lo, d_hi) = padded_range(panels.distance.iter(), |p| p.1, 1e-3);
    let (c_lo, c_hi) = padded_range(panels.log_condition.iter(), |p| p.1, 1e-3);
    let (d_decimals, c_decimals) = (tick_decimals(d_lo, d_hi), tick_decimals(c_lo, c_hi));
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(46)
        .y_label_area_size(64)
        .right_y_label_area_size(64)
        .build_cartesian_2d(x_range.clone(), d_lo..d_hi)?
        .set_secondary_coord(x_range, c_lo..c_hi);
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&|x| short_count(*x))
        .y_label_formatter(&|y| format!("{y:.d_decimals$}"))
        .label_style(tick_style.clone())
        .axis_desc_style(tick_style.clone())
        .x_desc("words processed")
        .y_desc("‖W − I‖")
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_labels(5)
        .y_label_formatter(&|y| format!("{y:.c_decimals$}"))
        .label_style(tick_style.clone())
        .axis_desc_style(tick_style.clone())
        .y_desc("log10 of W's condition")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            panels.distance.iter().copied(),
            DISTANCE.stroke_width(2),
        ))?
        .label("‖W − I‖ (left)")
        .legend(legend_line(DISTANCE));
    chart
        .draw_secondary_series(LineSeries::new(
            panels.log_condition.iter().copied(),
            CONDITION.stroke_width(2),
        ))?
        .label("log10 σmax/σmin (right)")
        .legend(legend_line(CONDITION));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GUIDE)
        .label_font(tick_style)
        .draw()?;
    Ok(())
}

fn draw_loss(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    points: &[(f64, f64)],
    title: &str,
) -> DrawResult {
    let area = titled(root, title)?;
    let tick_style = text_style(TICK_SIZE);
    let (mut x_lo, mut x_hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (mut y_lo, mut y_hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    if x_hi - x_lo < 1.0 {
        x_lo -= 1.0;
        x_hi += 1.0;
    }
    let pad = ((y_hi - y_lo) * 0.05).max(1e-3 * y_hi.abs().max(1.0));
    y_lo -= pad;
    y_hi += pad;
    x_lo = x_lo.min(0.0).max(x_lo - (x_hi - x_lo) * 0.02);
    // Enough decimals to tell about eight ticks apart, and no more.
    let decimals = (-((y_hi - y_lo) / 8.0).log10()).ceil().clamp(0.0, 6.0) as usize;
    let mut chart = ChartBuilder::on(&area)
        .margin(10)
        .margin_right(30)
        .x_label_area_size(46)
        .y_label_area_size(64)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| short_count(*x))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style(tick_style.clone())
        .axis_desc_style(tick_style)
        .x_desc("words processed")
        .y_desc("mean loss per pair")
        .draw()?;
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        MARK.stroke_width(2),
    ))?;
    if points.len() < 50 {
        chart.draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, MARK.filled())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    /// A report's epochs become one point each, at the words read by each epoch's end;
    /// epochs without a held-out loss or diagnostics add no point to those curves.
    #[test]
    fn curves_from_epochs_have_a_point_at_each_epoch_end() {
        let report = crate::TrainReport {
            epoch_losses: vec![2.5, 2.25],
            epoch_heldout_losses: vec![None, Some(2.0)],
            epoch_interactions: vec![
                None,
                Some(crate::InteractionDiagnostics {
                    distance_from_identity: 0.5,
                    condition_number: 3.0,
                }),
            ],
            words: 1000,
            pairs: 4000,
            seconds: 1.0,
            recovered: Vec::new(),
            long_tokens_skipped: 0,
            stopped_early: false,
        };
        let curves = TrainingCurves::from_epochs(&report);
        assert_eq!(curves.online_loss, [(500, 2.5), (1000, 2.25)]);
        assert_eq!(curves.heldout_loss, [(1000, 2.0)]);
        assert_eq!(curves.interaction_distance, [(1000, 0.5)]);
        assert_eq!(curves.interaction_condition, [(1000, 3.0)]);
    }

    #[test]
    fn jacobi_recovers_known_eigenpairs() {
        // Q diag(5, 2, 2, -1) Qᵀ with a rotation Q: a repeated and a negative eigenvalue.
        let (c, s) = (0.6_f64, 0.8_f64);
        let q = array![
            [c, -s, 0.0, 0.0],
            [s, c, 0.0, 0.0],
            [0.0, 0.0, c, s],
            [0.0, 0.0, -s, c]
        ];
        let d = Array2::from_diag(&array![2.0, 5.0, -1.0, 2.0]);
        let a = q.dot(&d).dot(&q.t());
        let (values, vectors) = symmetric_eigen(a.clone());
        assert_abs_diff_eq!(values, array![5.0, 2.0, 2.0, -1.0], epsilon = 1e-12);
        // A V = V Λ and V orthonormal.
        assert_abs_diff_eq!(
            a.dot(&vectors),
            vectors.dot(&Array2::from_diag(&values)),
            epsilon = 1e-12
        );
        assert_abs_diff_eq!(vectors.t().dot(&vectors), Array2::eye(4), epsilon = 1e-12);
        // The simple eigenvalues' vectors are Q's columns up to sign.
        let first = vectors.column(0).dot(&q.column(1)).abs();
        assert_abs_diff_eq!(first, 1.0, epsilon = 1e-12);
    }

    #[test]
    fn gram_and_covariance_routes_agree() {
        // 4 rows in 3-D uses the covariance; the same rows padded to 6-D use the Gram matrix.
        let x = array![
            [1.0_f32, 2.0, 0.5],
            [-1.0, 0.5, 2.0],
            [3.0, -1.0, 1.0],
            [0.0, 0.0, -2.0]
        ];
        let mut wide = Array2::<f32>::zeros((4, 6));
        wide.slice_mut(s![.., ..3]).assign(&x);
        let narrow = principal_coordinates(x.view()).unwrap();
        let padded = principal_coordinates(wide.view()).unwrap();
        assert_abs_diff_eq!(narrow, padded, epsilon = 1e-9);
    }

    #[test]
    fn counts_are_short() {
        let shown: Vec<String> = [0.0, 950.0, 1500.0, 5e6, 1.25e6, 2e9]
            .into_iter()
            .map(short_count)
            .collect();
        assert_eq!(shown, ["0", "950", "1.5k", "5M", "1.2M", "2G"]);
    }

    #[test]
    fn overlapping_labels_are_pushed_apart() {
        let b = LabelBox {
            left: 10.0,
            top: 50.0,
            width: 40.0,
            height: 20.0,
            dot: (0, 0),
        };
        let mut boxes = [b, b, LabelBox { top: 55.0, ..b }];
        spread_labels(&mut boxes, (0.0, 0.0, 200.0, 200.0));
        for i in 0..3 {
            for j in i + 1..3 {
                assert!(boxes[i].overlap(&boxes[j]).1 <= 0.0, "{boxes:?}");
            }
        }
    }
}
