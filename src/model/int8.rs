//! Int8 weights in the NNEF archive: a quarter of the bytes a page downloads, the same numbers.
//!
//! A weight tensor whose every axis-0 row lies on a grid `q · s` (`q` an integer in
//! −127..=127, `s` a power of two: what `training/quantize_weights.py` rounds a model's
//! weights to) is stored as an `i8` `.dat` entry plus a sidecar `<name>.q8scale.dat` holding
//! `s` per row (`f32`, shaped to broadcast along the scaled axis: `[rows, 1, …]`, or
//! `[1, …, columns]` where tract stores a dense kernel transposed). Loading multiplies them back into the same `f32`
//! values, bit for bit, before tract sees the graph (`graph.nnef` never changes: it names a
//! variable, and the element type comes from the `.dat`), so the model still computes in
//! `f32` and its outputs equal the ONNX model's.
//!
//! Why a power of two and a check of every value, not a fit: a quantiser that fits a scale
//! would make the archive an approximation of the ONNX model under the ONNX model's identity
//! (its SHA-256), and an index built natively from the ONNX file would disagree with a page.
//! A tensor that is not exactly on such a grid (biases, an f32 model) stays `f32`.

use tract_nnef::internal::*;
#[cfg(not(target_arch = "wasm32"))]
use tract_nnef::tract_ndarray::Axis;

use crate::error::{Error, Result};

/// Suffix of the sidecar entry holding a tensor's per-row scales (`<name>.q8scale.dat`).
pub const SCALE_SUFFIX: &str = ".q8scale";

/// Largest magnitude of a stored integer (symmetric: −128 is never used).
#[cfg(not(target_arch = "wasm32"))]
const Q_MAX: f32 = 127.0;

/// Tensors smaller than this stay `f32`: the sidecar and tar headers would eat the saving.
#[cfg(not(target_arch = "wasm32"))]
const MIN_ELEMENTS: usize = 256;

/// The smallest power of two `s` with `max_abs / s <= 127`: a row's scale. 1 for a zero row.
#[cfg(not(target_arch = "wasm32"))]
fn pow2_scale(max_abs: f32) -> f32 {
    if max_abs == 0.0 {
        return 1.0;
    }
    let mut s = 2f32.powi((max_abs / Q_MAX).log2().ceil() as i32);
    while max_abs / s > Q_MAX {
        s *= 2.0;
    }
    s
}

/// The int8 form of `tensor` (the `i8` values, and the scales shaped to broadcast over them:
/// every dimension 1 but the scaled axis), where one reproduces every value exactly; `None`
/// otherwise, or for tensors too small to gain. Axes are tried in order: tract stores some
/// dense kernels transposed, their output channel last.
#[cfg(not(target_arch = "wasm32"))]
pub fn pack(tensor: &Tensor) -> Option<(Tensor, Tensor)> {
    if tensor.datum_type() != f32::datum_type() || tensor.rank() < 2 || tensor.len() < MIN_ELEMENTS
    {
        return None;
    }
    let view = tensor.to_plain_array_view::<f32>().ok()?;
    (0..tensor.rank()).find_map(|axis| {
        let scales = view
            .axis_iter(Axis(axis))
            .map(|lane| {
                let max_abs = lane.iter().fold(0f32, |m, v| m.max(v.abs()));
                max_abs.is_finite().then(|| pow2_scale(max_abs))
            })
            .collect::<Option<Vec<f32>>>()?;
        let mut q = Vec::with_capacity(tensor.len());
        for (index, &v) in view.indexed_iter() {
            let s = scales[index[axis]];
            let k = (v / s).round();
            // `==`, not bits: -0.0 stored as 0 is the same weight.
            if k.abs() > Q_MAX || k * s != v {
                return None;
            }
            q.push(k as i8);
        }
        let mut shape = vec![1; tensor.rank()];
        shape[axis] = scales.len();
        Some((
            Tensor::from_shape(tensor.shape(), &q).ok()?,
            Tensor::from_shape(&shape, &scales).ok()?,
        ))
    })
}

/// Expands every int8 tensor of `proto` (with its `<name>.q8scale` sidecar) back into `f32`,
/// and drops the sidecars. An `i8` tensor without scales, scales without their tensor, or
/// scales that are not finite positive numbers shaped along one of its axes are a damaged
/// model.
pub fn unpack(proto: &mut tract_nnef::ProtoModel) -> Result<()> {
    let bad = |m: String| Error::InvalidModel(format!("int8 weights: {m}"));
    let sidecars: Vec<Identifier> = proto
        .tensors
        .keys()
        .filter(|k| k.0.ends_with(SCALE_SUFFIX))
        .cloned()
        .collect();
    for key in sidecars {
        let scales = proto.tensors.remove(&key).expect("listed above");
        let name = Identifier(key.0.trim_end_matches(SCALE_SUFFIX).to_string());
        let q = proto
            .tensors
            .get(&name)
            .ok_or_else(|| bad(format!("scales `{}` for a tensor the archive lacks", key.0)))?;
        let (Ok(q_view), Ok(s_view)) = (
            q.to_plain_array_view::<i8>(),
            scales.to_plain_array_view::<f32>(),
        ) else {
            return Err(bad(format!("`{}` is not i8 or its scales not f32", name.0)));
        };
        let scaled_axes = (0..scales.rank())
            .filter(|&a| scales.shape()[a] != 1)
            .count();
        let fits = scales.rank() == q.rank()
            && scaled_axes <= 1
            && (0..q.rank()).all(|a| [1, q.shape()[a]].contains(&scales.shape()[a]));
        if !fits {
            return Err(bad(format!(
                "`{}` has scales of shape {:?} for shape {:?}",
                name.0,
                scales.shape(),
                q.shape()
            )));
        }
        if s_view.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(bad(format!(
                "`{}` has a scale that is not a positive number",
                name.0
            )));
        }
        let expanded: Tensor = (q_view.mapv(|k| k as f32) * &s_view).into();
        proto.tensors.insert(name, expanded.into_arc_tensor());
    }
    if let Some((name, _)) = proto
        .tensors
        .iter()
        .find(|(_, t)| t.datum_type() == i8::datum_type())
    {
        return Err(bad(format!("`{}` is i8 but has no scales", name.0)));
    }
    Ok(())
}

/// Rewrites the `.dat` entries of an archive's entry list that [`pack`] can store as int8,
/// each followed by its scales' entry. Other entries are kept as they are, in order.
#[cfg(not(target_arch = "wasm32"))]
pub fn pack_entries(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::with_capacity(entries.len());
    for (path, bytes) in entries {
        let Some(stem) = path.strip_suffix(".dat") else {
            out.push((path, bytes));
            continue;
        };
        let tensor = tract_nnef::tensors::read_tensor(&bytes[..])
            .map_err(|e| Error::InvalidModel(format!("cannot read `{path}`: {e:#}")))?;
        let Some((q, scales)) = pack(&tensor) else {
            out.push((path, bytes));
            continue;
        };
        let write = |t: &Tensor| -> Result<Vec<u8>> {
            let mut buf = Vec::new();
            tract_nnef::tensors::write_tensor(&mut buf, t)
                .map_err(|e| Error::InvalidModel(format!("cannot write `{path}`: {e:#}")))?;
            Ok(buf)
        };
        out.push((path.clone(), write(&q)?));
        out.push((format!("{stem}{SCALE_SUFFIX}.dat"), write(&scales)?));
    }
    Ok(out)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A tensor's values as a slice of `T` (`None` for another element type).
    fn slice_of<T: Datum>(t: &Tensor) -> Option<&[T]> {
        t.try_as_plain_ram().ok()?.as_slice::<T>().ok()
    }

    fn tensor(shape: &[usize], values: &[f32]) -> Tensor {
        Tensor::from_shape(shape, values).unwrap()
    }

    #[test]
    fn scales_are_the_smallest_power_of_two_that_fits() {
        assert_eq!(pow2_scale(127.0), 1.0);
        assert_eq!(pow2_scale(127.5), 2.0);
        assert_eq!(pow2_scale(1.0), 1.0 / 64.0); // 1 / (1/64) = 64 <= 127; 1/128 gives 128
        assert_eq!(pow2_scale(0.0), 1.0);
    }

    #[test]
    fn grid_weights_round_trip_exactly() {
        // Two rows on grids 1/64 and 1/4 (row maxima 1.0 and 31.75), 256 values each.
        let values: Vec<f32> = (0..512)
            .map(|i| {
                let k = (i % 255) as f32 - 127.0;
                if i < 256 { k / 127.0 * 1.0 } else { k / 4.0 }
            })
            .map(|v| (v * 64.0).round() / 64.0)
            .collect();
        let t = tensor(&[2, 256], &values);
        let (q, s) = pack(&t).expect("on a grid");
        assert_eq!(q.datum_type(), i8::datum_type());
        assert_eq!(slice_of::<f32>(&s).unwrap(), &[1.0 / 64.0, 1.0 / 4.0]);
        assert_eq!(s.shape(), &[2, 1]);
        let mut proto = tract_nnef::nnef()
            .proto_model_for_read(&mut &minimal_archive(&q, &s)[..])
            .unwrap();
        unpack(&mut proto).unwrap();
        let back = &proto.tensors[&Identifier("w".into())];
        assert_eq!(slice_of::<f32>(back).unwrap(), &values[..]);
        assert!(!proto.tensors.keys().any(|k| k.0.ends_with(SCALE_SUFFIX)));
    }

    #[test]
    fn a_transposed_kernel_is_scaled_along_its_last_axis() {
        // 256 rows x 2 columns, column 0 on a grid of 1/64 and column 1 on 1/4: no per-row
        // power of two reproduces both, per column one does.
        let values: Vec<f32> = (0..512)
            .map(|i| ((i / 2) % 255) as f32 - 127.0)
            .enumerate()
            .map(|(i, k)| if i % 2 == 0 { k / 64.0 } else { k / 4.0 })
            .collect();
        let (q, s) = pack(&tensor(&[256, 2], &values)).expect("on a per-column grid");
        assert_eq!(s.shape(), &[1, 2]);
        let mut proto = tract_nnef::nnef()
            .proto_model_for_read(&mut &minimal_archive(&q, &s)[..])
            .unwrap();
        unpack(&mut proto).unwrap();
        assert_eq!(
            slice_of::<f32>(&proto.tensors[&Identifier("w".into())]).unwrap(),
            &values[..]
        );
    }

    #[test]
    fn weights_off_the_grid_stay_f32() {
        let mut values = vec![0.5f32; 512];
        assert!(pack(&tensor(&[2, 256], &values)).is_some());
        values[7] = 0.1; // not a multiple of 1/256 (row max 0.5 → scale 1/256)
        assert!(pack(&tensor(&[2, 256], &values)).is_none());
        assert!(pack(&tensor(&[512], &[0.5; 512])).is_none(), "1-d (a bias)");
        assert!(
            pack(&tensor(&[2, 2], &[0.5; 4])).is_none(),
            "too small to gain"
        );
        values[7] = f32::NAN;
        assert!(pack(&tensor(&[2, 256], &values)).is_none());
    }

    #[test]
    fn damaged_scales_are_refused() {
        let values = vec![0.5f32; 512];
        let (q, _) = pack(&tensor(&[2, 256], &values)).unwrap();
        for (shape, scales) in [
            (vec![2, 1], vec![1.0f32, -1.0]),
            (vec![2, 1], vec![1.0, f32::INFINITY]),
            (vec![2], vec![1.0, 1.0]),
            (vec![2, 256], vec![1.0; 512]),
            (vec![4, 1], vec![1.0; 4]),
        ] {
            let s = tensor(&shape, &scales);
            let mut proto = tract_nnef::nnef()
                .proto_model_for_read(&mut &minimal_archive(&q, &s)[..])
                .unwrap();
            let err = unpack(&mut proto).unwrap_err().to_string();
            assert!(err.contains("int8 weights"), "{err}");
        }
    }

    /// A tar with a one-variable graph `w` and the given int8 tensor and scales.
    fn minimal_archive(q: &Tensor, s: &Tensor) -> Vec<u8> {
        let shape = q
            .shape()
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let graph = format!(
            "version 1.0;\ngraph g() -> (y) {{\n  y = variable<scalar>(label = \"w\", shape = [{shape}]);\n}}\n"
        );
        let dat = |t: &Tensor| {
            let mut b = Vec::new();
            tract_nnef::tensors::write_tensor(&mut b, t).unwrap();
            b
        };
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in [
            ("graph.nnef".to_string(), graph.into_bytes()),
            ("w.dat".to_string(), dat(q)),
            (format!("w{SCALE_SUFFIX}.dat"), dat(s)),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            tar.append_data(&mut h, &path, &data[..]).unwrap();
        }
        tar.into_inner().unwrap()
    }
}
