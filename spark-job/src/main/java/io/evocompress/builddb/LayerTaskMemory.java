package io.evocompress.builddb;

import io.evocompress.EvocompressException;

import java.util.Locale;

/**
 * What one build-db input-group task ({@link InputGroupTask}) holds at its peak, for an input of
 * {@code n} features and its widest layer of {@code rows} outputs, in bytes:
 * <ul>
 *   <li>Java heap: the Hessian file read whole (8 n^2 bytes, 4 n^2 with float32 storage) while it is
 *       decoded to the float64 H (8 n^2), then H, its damped copy (8 n^2) and the float32 factor U
 *       with the float32 input to the factorisation (4 + 4 n^2; a second U with act-order), and per
 *       layer the weight, the result and the codes (about 16 rows n);</li>
 *   <li>engine (the task's device: native memory on the CPU, GPU memory on a GPU): the factorisation's
 *       input, its recursion's products and the result (about 16 n^2), later U and the weight with
 *       one update product (4 n^2 + 12 rows n).</li>
 * </ul>
 * Estimates from the code's allocations, to fail before the build rather than out of memory in it.
 */
public record LayerTaskMemory(String where, int n, int rows, long heapBytes, long engineBytes) {

    public static LayerTaskMemory of(String where, int n, int rows, boolean hessianFloat32, boolean actOrder) {
        long n2 = (long) n * n;
        long decode = (hessianFloat32 ? 4 : 8) * n2 + 8 * n2;
        long held = 8 * n2 + 8 * n2 + (actOrder ? 2 : 1) * 4 * n2 + 4 * n2 + (actOrder ? 8 * n2 : 0);
        long heap = Math.max(decode, held) + 16L * rows * n;
        long engine = Math.max(16 * n2, 4 * n2 + 12L * rows * n);
        return new LayerTaskMemory(where, n, rows, heap, engine);
    }

    /** The line printed before the build. */
    public String describe() {
        return String.format(Locale.ROOT, "layer task memory: the widest input (%s, %d inputs, widest layer %d x %d) needs "
            + "about %s of Java heap and %s in the engine on the task's device", where, n, rows, n, gib(heapBytes),
            gib(engineBytes));
    }

    /**
     * Fails when the task's Java heap ({@code heapLimit} bytes, where it is known: 0 when not) or, on a GPU,
     * its memory ({@code deviceLimit}, 0 when not known) is smaller than the need.
     */
    void check(long heapLimit, String heapSetting, long deviceLimit) {
        if ((long) n * n > Integer.MAX_VALUE - 8) {
            throw new EvocompressException(String.format(Locale.ROOT, "The input of %s has %d features: its %d x %d "
                + "Hessian (%d entries) does not fit one Java array, which this build needs (at most 46340 features).",
                where, n, n, n, (long) n * n));
        }
        if (heapLimit > 0 && heapBytes > heapLimit) {
            throw new EvocompressException(String.format(Locale.ROOT, "The layer tasks of %s (input of %d features) need "
                + "about %s of Java heap (its %d x %d Hessian in float64 %s, its damped copy and the factor), but a task "
                + "has %s: raise %s before the build (calibration.hessian-dtype: float32 halves the stored Hessian's "
                + "file, not its float64 copy in memory).", where, n, gib(heapBytes), n, n, gib(8L * n * n), gib(heapLimit),
                heapSetting));
        }
        if (deviceLimit > 0 && engineBytes > deviceLimit) {
            throw new EvocompressException(String.format(Locale.ROOT, "The layer tasks of %s (input of %d features) need "
                + "about %s on the GPU for the inverse-Hessian factorisation, but the GPU has %s: use a larger GPU or "
                + "set device: cpu.", where, n, gib(engineBytes), gib(deviceLimit)));
        }
    }

    static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
            : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
