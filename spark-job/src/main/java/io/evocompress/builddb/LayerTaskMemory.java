package io.evocompress.builddb;

import io.evocompress.EvocompressException;
import io.evocompress.calibration.RowBlockMatrix;

import java.util.Locale;

/**
 * What one build-db input-group task ({@link InputGroupTask}) holds at its peak, for an input of
 * {@code n} features and its widest layer of {@code rows} outputs, in bytes. The Hessian is never one
 * Java array or buffer: it is read, damped, sent to the engine and its factor read back in row blocks
 * of at most 256 MiB ({@link RowBlockMatrix}), so the only limit on n is memory:
 * <ul>
 *   <li>Java heap: H in float64 as read (8 n^2; the file is streamed, whatever its dtype), its damped
 *       copy (8 n^2) and the float32 factor U (4 n^2); with act-order also the permuted damped copy
 *       while it is factored (8 n^2) and its factor (4 n^2); per layer the weight, the result and the
 *       codes (about 16 rows n); and two row blocks in flight;</li>
 *   <li>engine (the task's device: native memory on the CPU, GPU memory on a GPU), one after the other:
 *       the output energy's float64 H with W, W H and their product (8 n^2 + 24 rows n), the
 *       factorisation's input, its recursion's products and its result (about 16 n^2), then U and the
 *       weight with one update product (4 n^2 + 12 rows n).</li>
 * </ul>
 * Estimates from the code's allocations, to fail before the build rather than out of memory in it.
 * A 57,344-input layer (BLOOM-176B's dense_4h_to_h, 14,336 rows) needs about 74 GiB of heap and 49 GiB
 * in the engine.
 */
public record LayerTaskMemory(String where, int n, int rows, long heapBytes, long engineBytes) {

    public static LayerTaskMemory of(String where, int n, int rows, boolean hessianFloat32, boolean actOrder) {
        long n2 = (long) n * n;
        long held = 8 * n2 + 8 * n2 + 4 * n2 + (actOrder ? 8 * n2 + 4 * n2 : 0);
        long inFlight = 2 * Math.min(RowBlockMatrix.chunkBytes(), 8 * n2);
        long heap = held + inFlight + 16L * rows * n;
        long engine = Math.max(16 * n2, Math.max(8 * n2 + 24L * rows * n, 4 * n2 + 12L * rows * n));
        return new LayerTaskMemory(where, n, rows, heap, engine);
    }

    /** The line printed before the build. */
    public String describe() {
        return String.format(Locale.ROOT, "layer task memory: the widest input (%s, %d inputs, widest layer %d x %d) needs "
            + "about %s of Java heap (%d bytes) and %s in the engine on the task's device (%d bytes)", where, n, rows, n,
            gib(heapBytes), heapBytes, gib(engineBytes), engineBytes);
    }

    /**
     * Fails when the task's Java heap ({@code heapLimit} bytes, where it is known: 0 when not) or its
     * device's memory ({@code deviceLimit}, 0 when not known) is smaller than the need.
     *
     * @param deviceName   the device in words ("the GPU", "the CPU's native memory")
     * @param deviceSource where {@code deviceLimit} came from, with the setting that changes it
     */
    void check(long heapLimit, String heapSetting, long deviceLimit, String deviceName, String deviceSource) {
        if (heapLimit > 0 && heapBytes > heapLimit) {
            throw new EvocompressException(String.format(Locale.ROOT, "The layer tasks of %s (input of %d features) need "
                + "about %s of Java heap (%d bytes: its %d x %d Hessian in float64 %s, its damped copy and the factor), "
                + "but a task has %s: raise %s before the build (calibration.hessian-dtype: float32 halves the stored "
                + "Hessian's file, not its float64 copy in memory).", where, n, gib(heapBytes), heapBytes, n, n,
                gib(8L * n * n), gib(heapLimit), heapSetting));
        }
        if (deviceLimit > 0 && engineBytes > deviceLimit) {
            throw new EvocompressException(String.format(Locale.ROOT, "The layer tasks of %s (input of %d features) need "
                + "about %s (%d bytes) on %s for the inverse-Hessian factorisation and the output energy, but it has %s "
                + "(%s): use a device with more memory, set device: cpu, or, if the executors' devices have more than "
                + "that, say so with evaluation.device-memory.", where, n, gib(engineBytes), engineBytes, deviceName,
                gib(deviceLimit), deviceSource));
        }
    }

    static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
            : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
