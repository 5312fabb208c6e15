package io.evocompress.structured;

import io.evocompress.EvocompressException;
import io.evocompress.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The levels of the structured database: per group, integer offsets l around the uniform count
 * c = round(target * structures), level l removing c + l * step structures, with step =
 * max(1, round(structures / steps)) (steps = 10: about 10% of a block's structures per level), and
 * only levels removing between 0 and structures - 1 (a block keeps at least one head and one neuron).
 * Because every step of a group removes the same number of structures, a switch moving one block up
 * a level and another down one keeps the model's removed parameters exactly constant, and level 0
 * everywhere is uniform structured pruning at the target.
 *
 * @param target fraction of each group's structures removed in the uniform model, in (0, 1)
 * @param steps  levels per full range (10: 10% steps)
 */
public record StructuredGrid(double target, int steps) {
    public StructuredGrid {
        if (!(target > 0 && target < 1)) {
            throw new EvocompressException("structured target must be a fraction in (0, 1), but was " + target);
        }
        if (steps < 1) {
            throw new EvocompressException("structured level steps must be >= 1, but were " + steps);
        }
    }

    public int center(StructureGroup g, ModelConfig c) {
        return (int) Math.round(target * g.structures(c));
    }

    public int step(StructureGroup g, ModelConfig c) {
        return Math.max(1, (int) Math.round((double) g.structures(c) / steps));
    }

    /** Structures removed at {@code level}. */
    public int removed(StructureGroup g, ModelConfig c, int level) {
        return center(g, c) + level * step(g, c);
    }

    /** The legal levels, ascending, contiguous, 0 among them. */
    public List<Integer> levels(StructureGroup g, ModelConfig c) {
        int n = g.structures(c);
        int center = center(g, c);
        if (center < 0 || center > n - 1) {
            throw new EvocompressException("a structured target of " + target + " removes " + center + " of " + n
                + " " + g.key() + " structures per block, but a block must keep at least one: lower the target");
        }
        int step = step(g, c);
        List<Integer> out = new ArrayList<>();
        for (int l = -(center / step); center + l * step <= n - 1; l++) {
            out.add(l);
        }
        return out;
    }

    /** Removed counts of {@link #levels}, ascending. */
    public int[] removedCounts(StructureGroup g, ModelConfig c) {
        return levels(g, c).stream().mapToInt(l -> removed(g, c, l)).toArray();
    }
}
