package io.evocompress.schedule;

import io.evocompress.EvocompressException;

import java.util.PriorityQueue;

/**
 * Integer counts from real-valued ideals with an exact total (largest-remainder method, with bounds):
 * start from floor(ideal) clamped to [0, max], then add one to the unit furthest below its ideal (or
 * take one from the unit furthest above it) until the total is met, skipping units at a bound. Ties go
 * to the lower index, so the result is deterministic.
 */
final class Apportionment {
    private Apportionment() {
    }

    static long[] apportion(double[] ideal, long[] max, long total) {
        int n = ideal.length;
        long[] z = new long[n];
        long sum = 0;
        long room = 0;
        for (int i = 0; i < n; i++) {
            z[i] = Math.max(0, Math.min(max[i], (long) Math.floor(ideal[i])));
            sum += z[i];
            room += max[i];
        }
        if (total < 0 || total > room) {
            throw new EvocompressException("Cannot place " + total + " zeros in units that hold at most " + room
                + " (each unit at most its cap): lower the target sparsity or raise scheduler.cap");
        }
        long diff = total - sum;
        if (diff == 0) {
            return z;
        }
        int sign = diff > 0 ? 1 : -1;
        // most under-assigned first when adding, most over-assigned first when removing
        PriorityQueue<Integer> queue = new PriorityQueue<>((a, b) -> {
            int c = Double.compare(sign * (z[a] - ideal[a]), sign * (z[b] - ideal[b]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        for (int i = 0; i < n; i++) {
            if (sign > 0 ? z[i] < max[i] : z[i] > 0) {
                queue.add(i);
            }
        }
        while (diff != 0) {
            int i = queue.poll();
            z[i] += sign;
            diff -= sign;
            if (sign > 0 ? z[i] < max[i] : z[i] > 0) {
                queue.add(i);
            }
        }
        return z;
    }
}
