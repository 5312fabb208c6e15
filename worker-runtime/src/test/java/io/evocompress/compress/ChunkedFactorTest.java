package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.RowBlockMatrix;
import io.evocompress.database.LayerLevels;
import io.evocompress.device.EngineTransfer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hessian in row blocks ({@link RowBlockMatrix}) changes no number: on the real layers of both
 * fixtures (64 to 352 inputs), with row blocks of 4 KiB (one to eight rows, so every Hessian and
 * factor spans 8 to 352 blocks, through the engine path with Java leaves of 32 columns), SparseGPT,
 * GPTQ with act-order, the joint method, the structured OBS sweep, the output energy and the output
 * error give bit for bit what they give with the whole matrix in one block. The weights (16 KiB and
 * more) go to and from the engine in row slices then too ({@link EngineTransfer}), unchanged.
 */
class ChunkedFactorTest {
    private static final int LEAF = 32;

    @Test
    void rowBlocksGiveTheOneBlockResultsBitForBit() {
        List<RealLayers.Layer> layers = RealLayers.all();
        List<Result> whole = new ArrayList<>();
        for (RealLayers.Layer layer : layers) {
            Hessian h = layer.calibration().hessian();
            assertEquals(1, h.rows().blockCount(), layer + " is one block at the default 256 MiB");
            whole.add(run(layer, h));
        }
        String before = System.getProperty(RowBlockMatrix.CHUNK_PROPERTY);
        System.setProperty(RowBlockMatrix.CHUNK_PROPERTY, "4096");
        try {
            for (int k = 0; k < layers.size(); k++) {
                RealLayers.Layer layer = layers.get(k);
                Hessian one = layer.calibration().hessian();
                Hessian chunked = new Hessian(one.dim(), one.sequences(), one.values());
                assertTrue(chunked.rows().blockCount() >= 8, layer + ": " + chunked.rows().blockCount() + " blocks");
                try (NDManager m = RealLayers.manager();
                     NDArray f = EngineTransfer.create(m, layer.weight(), layer.rows(), layer.cols());
                     NDArray d = EngineTransfer.create(m, toDouble(layer.weight()), layer.rows(), layer.cols())) {
                    assertArrayEquals(layer.weight(), EngineTransfer.toFloatArray(f), layer + " in float32 row slices");
                    assertArrayEquals(toDouble(layer.weight()), EngineTransfer.toDoubleArray(d), layer + " in float64 row slices");
                    assertArrayEquals(layer.weight(), f.toFloatArray(), layer + " as one engine array");
                }
                Result r = run(layer, chunked);
                Result w = whole.get(k);
                for (int m = 0; m < w.weights.size(); m++) {
                    assertArrayEquals(w.weights.get(m), r.weights.get(m), layer + " result " + m);
                    assertEquals(w.errors.get(m), r.errors.get(m), 0.0, layer + " error estimate " + m);
                }
            }
        } finally {
            if (before == null) {
                System.clearProperty(RowBlockMatrix.CHUNK_PROPERTY);
            } else {
                System.setProperty(RowBlockMatrix.CHUNK_PROPERTY, before);
            }
        }
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    private record Result(List<float[]> weights, List<Double> errors) {
    }

    private static Result run(RealLayers.Layer layer, Hessian h) {
        List<float[]> weights = new ArrayList<>();
        List<Double> errors = new ArrayList<>();
        PreparedHessian prepared = PreparedHessian.of(h, 0.01, LEAF);
        QuantizationSpec q4 = UniformCompression.forLayer(QuantizationSpec.grouped(4, 128), layer.cols());
        try (NDManager m = RealLayers.manager()) {
            NDArray w = layer.array(m);
            List<CompressedLayer> out = List.of(
                SparseGpt.compress(w, prepared, SparseGpt.Options.of(SparsityPattern.unstructured(0.5))),
                Gptq.quantize(w, prepared, Gptq.Options.of(q4).withActOrder(true)),
                SparseGpt.compress(w, prepared, SparseGpt.Options.of(SparsityPattern.unstructured(0.5)).withQuantization(q4)));
            for (CompressedLayer c : out) {
                weights.add(c.weight());
                errors.add(c.errorEstimate());
                errors.add(OutputError.relative(layer.weight(), c.weight(), h));
            }
            errors.add(LayerLevels.outputEnergy(w, h));
            int[] levels = StructuredObs.levelsInSteps(layer.cols(), 4);
            for (StructuredSnapshot s : StructuredObs.prune(layer.weight(), layer.rows(), h, 1, levels, 0.01, Device.cpu())) {
                weights.add(s.weight());
                errors.add(s.errorEstimate());
            }
        }
        return new Result(weights, errors);
    }
}
