package io.evocompress.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;

import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Forward throughput of a model next to the engine's own matrix-multiply throughput, measured in the
 * same run on the same device, so the ratio means something on a noisy machine. FLOPs count 2 per
 * multiply-add of every linear layer (LM head included) and of attention ({@link ModelConfig#forwardFlops}).
 * The matmul figure is the engine multiplying, alone, exactly the matrices the forward's linear layers
 * multiply (every shape, as often as one forward does): what a forward would reach if attention,
 * norms, rotary embeddings and activations cost nothing.
 */
public final class ForwardBenchmark {

    /** Tokens per second, achieved GFLOP/s, and the reference matmul GFLOP/s. */
    public record Result(int batch, int seqLen, int iterations, double secondsPerForward, double tokensPerSecond,
                         double gflops, double matmulGflops) {
        public double fractionOfMatmul() {
            return gflops / matmulGflops;
        }
    }

    private ForwardBenchmark() {
    }

    public static Result run(CausalLm model, int batch, int seqLen, int iterations, Consumer<String> progress) {
        ModelConfig c = model.config();
        NDManager manager = model.manager();
        int[] ids = new int[batch * seqLen];
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(c.vocabSize());
        }
        double forwardSeconds;
        try (NDManager scope = manager.newSubManager()) {
            NDArray input = scope.create(ids, new Shape(batch, seqLen));
            progress.accept("warm-up forward");
            timeForward(model, input, 1);
            progress.accept("timing " + iterations + " forward passes of " + batch + " x " + seqLen + " tokens");
            forwardSeconds = timeForward(model, input, iterations);
        }
        // The engine's matmul on exactly the products the forward's linear layers make, each timed alone.
        long m = (long) batch * seqLen;
        long h = c.hiddenSize();
        long[][] products = { // {k, n, count per forward}
            {h, c.qDim(), c.numLayers()},
            {h, c.kvDim(), 2L * c.numLayers()},
            {c.qDim(), h, c.numLayers()},
            {h, c.intermediateSize(), 2L * c.numLayers()},
            {c.intermediateSize(), h, c.numLayers()},
            {h, c.vocabSize(), 1}};
        double matmulSeconds = 0;
        double matmulFlops = 0;
        for (long[] p : products) {
            progress.accept("timing the engine's matmul (" + m + " x " + p[0] + ") x (" + p[0] + " x " + p[1] + ")");
            matmulSeconds += p[2] * timeMatmul(manager, model.dtype(), m, p[0], p[1], Math.max(3, iterations));
            matmulFlops += p[2] * 2.0 * m * p[0] * p[1];
        }
        double flops = c.forwardFlops(batch, seqLen);
        return new Result(batch, seqLen, iterations, forwardSeconds, m / forwardSeconds, flops / forwardSeconds / 1e9,
            matmulFlops / matmulSeconds / 1e9);
    }

    /** Median seconds of one forward over {@code iterations} timed passes. */
    private static double timeForward(CausalLm model, NDArray input, int iterations) {
        double[] seconds = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            try (NDManager scope = input.getManager().newSubManager()) {
                NDArray logits = model.logits(input);
                logits.attach(scope);
                logits.get(0, 0, 0).getFloat(); // wait for the device
            }
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        return median(seconds);
    }

    /**
     * Median seconds per (m x k) x (k x n) product, after a warm-up, over repeats of at least 0.2 s
     * each (a single product is too short to time alone).
     */
    private static double timeMatmul(NDManager parent, DataType dtype, long m, long k, long n, int repeats) {
        try (NDManager scope = parent.newSubManager()) {
            NDArray a = scope.randomNormal(new Shape(m, k)).toType(dtype, false);
            NDArray b = scope.randomNormal(new Shape(k, n)).toType(dtype, false);
            int perRepeat = 1;
            while (true) {
                double t = timeProducts(a, b, perRepeat);
                if (t >= 0.2) {
                    break;
                }
                perRepeat *= 2;
            }
            double[] seconds = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                seconds[r] = timeProducts(a, b, perRepeat) / perRepeat;
            }
            return median(seconds);
        }
    }

    private static double timeProducts(NDArray a, NDArray b, int count) {
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            try (NDManager it = a.getManager().newSubManager()) {
                a.tempAttach(it);
                a.matMul(b).get(0, 0).getFloat();
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
