package io.evocompress.database;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.Gptq;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.compress.QuantizationSpec;
import io.evocompress.compress.QuantizedWeight;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds every level of one layer into a {@link VariantStore}: all levels from the one dense weight
 * and one {@link PreparedHessian} (one factorisation of H for the whole layer), each written
 * atomically, then the layer's record last, so a layer whose record exists is complete. The record
 * also carries the dense layer's output energy ({@link #outputEnergy}), computed here, on the task's
 * device, because the task already holds W and H: the layer-wise scheduler's {@code relative} error
 * measure then reads it from the database instead of redoing O(rows * in^2) work per layer on the
 * driver.
 */
public final class LayerLevels {
    private LayerLevels() {
    }

    /**
     * @param layer      the unit name (HF tensor prefix without ".weight")
     * @param weight     the dense weight [rows = out, cols = in]
     * @param databaseId recorded in the layer record; a record with another id is rebuilt on resume
     */
    public static VariantStore.LayerRecord build(VariantStore store, String layer, NDArray weight, PreparedHessian hessian,
                                                 CompressorSettings settings, String databaseId) {
        return build(store, layer, weight, hessian, settings, databaseId, null);
    }

    /**
     * As {@link #build(VariantStore, String, NDArray, PreparedHessian, CompressorSettings, String)},
     * recording {@code tensorSha256} ({@link TensorHashes.Read#sha256} of the tensors the weight was read
     * from) in the layer record.
     */
    public static VariantStore.LayerRecord build(VariantStore store, String layer, NDArray weight, PreparedHessian hessian,
                                                 CompressorSettings settings, String databaseId,
                                                 java.util.Map<String, String> tensorSha256) {
        int rows = Math.toIntExact(weight.getShape().get(0));
        int cols = Math.toIntExact(weight.getShape().get(1));
        long numel = (long) rows * cols;
        List<Integer> levels = settings.levels(rows, cols);
        if (settings.isSparsity() && !levels.contains(0)) {
            throw new io.evocompress.EvocompressException("Layer " + layer + " (" + rows + "x" + cols + ") has no level 0 at "
                + "sparsity target " + settings.grid().target() + ": choose a target that leaves it some zeros and some weights.");
        }
        double energy = outputEnergy(weight, hessian.hessian()); // of the dense W, before any compressor runs
        List<VariantStore.LayerRecord.Level> out = new ArrayList<>();
        for (int level : levels) {
            if (settings.isSparsity()) {
                double sparsity = settings.sparsity(numel, level);
                CompressedLayer c = SparseGpt.compress(weight, hessian, new SparseGpt.Options(
                    SparsityPattern.unstructured(sparsity), null, settings.blockSize(), settings.dampening()));
                VariantStore.StoredFile file = store.write(layer, level, new LayerVariant.Sparse(rows, cols, c.weight()),
                    settings.sparseValueBytes());
                out.add(new VariantStore.LayerRecord.Level(level, sparsity, null, c.errorEstimate(), file));
            } else {
                QuantizationSpec spec = settings.quantization(level, cols);
                CompressedLayer c = Gptq.quantize(weight, hessian, new Gptq.Options(spec, settings.actOrder(),
                    settings.blockSize(), settings.dampening()));
                LayerVariant.Quantized v = toVariant(c.quantized(), settings.effectiveGroupSize(cols));
                VariantStore.StoredFile file = store.write(layer, level, v, 2);
                out.add(new VariantStore.LayerRecord.Level(level, null, level, c.errorEstimate(), file));
            }
        }
        VariantStore.LayerRecord record = new VariantStore.LayerRecord(layer, rows, cols, databaseId, out, energy, tensorSha256);
        store.writeRecord(record);
        return record;
    }

    /**
     * The dense layer's output energy 1/2 sum_r w_r H w_r^T = 1/2 sum((W @ H) * W) under the undamped
     * Hessian H = (2/n) sum X^T X, i.e. ||W X^T||^2 / n, on the scale of SparseGPT's error estimate
     * (the same quantity as {@code OutputError.energy}). Computed on the weight's device in float64
     * (W cast to float64 [rows, in], H [in, in]), every intermediate in a sub-manager closed here.
     *
     * @param weight [rows, in], any float type; left as it was
     */
    public static double outputEnergy(NDArray weight, Hessian hessian) {
        Shape shape = weight.getShape();
        if (shape.dimension() != 2 || shape.get(1) != hessian.dim()) {
            throw new IllegalArgumentException("A weight of shape " + shape + " does not match a Hessian of dim "
                + hessian.dim() + " (expected [rows, " + hessian.dim() + "])");
        }
        try (NDManager scope = weight.getManager().newSubManager()) {
            weight.tempAttach(scope); // back to its own manager when the scope closes
            NDArray w = weight.toType(DataType.FLOAT64, true);
            NDArray h = hessian.rows().toNDArray(scope, DataType.FLOAT64); // one row block at a time
            return 0.5 * w.matMul(h).mul(w).sum().toDoubleArray()[0];
        }
    }

    /** The stored form of a GPTQ result whose groups are consecutive columns of {@code groupSize}. */
    public static LayerVariant.Quantized toVariant(QuantizedWeight w, int groupSize) {
        int rows = w.rows();
        int cols = w.columns();
        int[] groupIndex = w.groupIndex();
        for (int c = 0; c < cols; c++) {
            if (groupIndex[c] != c / groupSize) {
                throw new IllegalStateException("Column " + c + " is in group " + groupIndex[c] + ", not " + c / groupSize
                    + ": the variant format stores groups of consecutive columns");
            }
        }
        int[] q = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                q[r * cols + c] = w.code(r, c);
            }
        }
        return new LayerVariant.Quantized(rows, cols, w.bits(), groupSize, q, w.scales().clone(), w.zeros().clone(), null);
    }
}
