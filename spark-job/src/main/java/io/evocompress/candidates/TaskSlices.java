package io.evocompress.candidates;

import java.util.ArrayList;
import java.util.List;

/**
 * How {@link SparkCandidateEvaluator} cuts one evaluate() call's candidates into Spark tasks: ceil(n /
 * perTask) slices of consecutive candidates, slice i holding [i n / slices, (i + 1) n / slices) as Spark's
 * {@code parallelize} cuts a list, after {@link #grouped} has sorted them by genome in block order when
 * there is more than one slice, so candidates with a common prefix land in the same task. Candidates
 * share prefixes only within a task, so the prefix-sharing prediction cuts the same way.
 */
public final class TaskSlices {
    private TaskSlices() {
    }

    /** The number of tasks for {@code candidates} candidates at {@code perTask} (at least 1) per task. */
    public static int count(int candidates, int perTask) {
        if (perTask < 1) {
            throw new IllegalArgumentException("candidates per task must be at least 1, but was " + perTask);
        }
        return (int) Math.max(1, ((long) candidates + perTask - 1) / perTask);
    }

    /** Each task's candidates as {start, end} (end exclusive), in task order. */
    public static List<int[]> of(int candidates, int perTask) {
        int slices = count(candidates, perTask);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < slices; i++) {
            out.add(new int[] {(int) ((long) i * candidates / slices), (int) ((long) (i + 1) * candidates / slices)});
        }
        return out;
    }

    /**
     * The candidates' indices sorted by their levels compared unit by unit in {@code order} (ties: the earlier
     * candidate), so that those sharing a prefix in that order are consecutive.
     */
    public static int[] grouped(List<int[]> levels, int[] order) {
        return java.util.stream.IntStream.range(0, levels.size()).boxed().sorted((a, b) -> {
            for (int u : order) {
                int c = Integer.compare(levels.get(a)[u], levels.get(b)[u]);
                if (c != 0) {
                    return c;
                }
            }
            return Integer.compare(a, b);
        }).mapToInt(Integer::intValue).toArray();
    }
}
