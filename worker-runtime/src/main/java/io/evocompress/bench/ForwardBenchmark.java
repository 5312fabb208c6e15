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
 */
public final class ForwardBenchmark {

    /** Tokens per second, achieved GFLOP/s, and the reference matmul GFLOP/s. */
    public record Result(int batch, int seqLen, int iterations, double secondsPerForward, double tokensPerSecond,
                         double gflops, double matmulGflops, long matmulM, long matmulK, long matmulN) {
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
            forwardSeconds = timeForward(model, input, iterations) / iterations;
        }
        // The matmul the forward does most: (B*T, H) x (H, I), the MLP's gate/up projections.
        long m = (long) batch * seqLen;
        long k = c.hiddenSize();
        long n = c.intermediateSize();
        progress.accept("timing the engine's matmul (" + m + " x " + k + ") x (" + k + " x " + n + ")");
        double matmulSeconds = timeMatmul(manager, model.dtype(), m, k, n, Math.max(3, iterations * 4));
        double flops = c.forwardFlops(batch, seqLen);
        return new Result(batch, seqLen, iterations, forwardSeconds, m / forwardSeconds, flops / forwardSeconds / 1e9,
            2.0 * m * k * n / matmulSeconds / 1e9, m, k, n);
    }

    private static double timeForward(CausalLm model, NDArray input, int iterations) {
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            try (NDManager scope = input.getManager().newSubManager()) {
                NDArray logits = model.logits(input);
                logits.attach(scope);
                logits.get(0, 0, 0).getFloat(); // wait for the device
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** Seconds per (m x k) x (k x n) product, after one warm-up. */
    private static double timeMatmul(NDManager parent, DataType dtype, long m, long k, long n, int iterations) {
        try (NDManager scope = parent.newSubManager()) {
            NDArray a = scope.randomNormal(new Shape(m, k)).toType(dtype, false);
            NDArray b = scope.randomNormal(new Shape(k, n)).toType(dtype, false);
            a.matMul(b).get(0, 0).getFloat();
            long start = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                try (NDManager it = scope.newSubManager()) {
                    a.tempAttach(it);
                    a.matMul(b).get(0, 0).getFloat();
                }
            }
            return (System.nanoTime() - start) / 1e9 / iterations;
        }
    }
}
