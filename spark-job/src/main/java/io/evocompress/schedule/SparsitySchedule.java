package io.evocompress.schedule;

import io.evocompress.EvocompressException;
import io.evocompress.database.SparsityGrid;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;

/**
 * A layer-wise sparsity schedule (ALGORITHMS.md section 4, step 3), made by {@link #plan}:
 * <ol>
 *   <li>Scheduling groups: each linear layer, or each block ({@link Granularity}).</li>
 *   <li>Cluster log10 of the groups' errors into K levels ({@link LogLevelClustering}).</li>
 *   <li>Map the level index c of K' levels linearly onto the range, higher error to lower sparsity:
 *       s_c = max - (max - min) * c / (K' - 1); one level maps to the middle of the range. Linear in the
 *       level index, not in the error value: the levels are the log-scale ranks the clustering found.</li>
 *   <li>Shift every group by one constant and clamp to [0, cap] so that the parameter-weighted mean
 *       sparsity is the target (the shift solved by bisection on the monotone clamped mean).</li>
 *   <li>Integer zeros: round(target * total parameters) in all, apportioned over the groups by largest
 *       remainder within [0, floor(cap * size)]; per block, the block's zeros are then apportioned over
 *       its layers in proportion to their sizes, so they share one sparsity to within one weight.</li>
 * </ol>
 * The target is unreachable, and refused, when round(target * total) exceeds the zeros the cap allows.
 */
public final class SparsitySchedule {
    private final double target;
    private final SparsityRange range;
    private final ScheduleSettings settings;
    private final int levels;
    private final double shift;
    private final List<UnitSparsity> units;

    private SparsitySchedule(double target, SparsityRange range, ScheduleSettings settings, int levels, double shift,
                             List<UnitSparsity> units) {
        this.target = target;
        this.range = range;
        this.settings = settings;
        this.levels = levels;
        this.shift = shift;
        this.units = Collections.unmodifiableList(units);
    }

    public static SparsitySchedule plan(List<LayerError> layers, double target, SparsityRange range,
                                        ScheduleSettings settings) {
        if (!(target > 0 && target < 1)) {
            throw new EvocompressException("scheduler target sparsity must be in (0, 1), but was " + target);
        }
        if (target > settings.cap()) {
            throw new EvocompressException("scheduler target sparsity " + target + " is above scheduler.cap "
                + settings.cap() + ": raise the cap or lower the target");
        }
        if (layers.isEmpty()) {
            throw new EvocompressException("The scheduler needs at least one layer error, but got none");
        }
        // 1. scheduling groups: members (indices into layers), size, error
        List<int[]> groups = groups(layers, settings.granularity());
        int g = groups.size();
        long[] size = new long[g];
        long[] capZeros = new long[g];
        double[] error = new double[g];
        long total = 0;
        for (int i = 0; i < g; i++) {
            for (int u : groups.get(i)) {
                LayerError l = layers.get(u);
                size[i] += l.parameters();
                capZeros[i] += (long) Math.floor(settings.cap() * l.parameters());
                error[i] += l.error();
            }
            total += size[i];
        }
        long totalZeros = Math.round(target * total);
        long room = 0;
        for (long c : capZeros) {
            room += c;
        }
        if (totalZeros > room) {
            throw new EvocompressException("Target sparsity " + target + " needs " + totalZeros + " zeros but scheduler.cap "
                + settings.cap() + " allows only " + room + ": raise the cap or lower the target");
        }
        // 2. clusters of log10 error
        LogLevelClustering.Clusters clusters = new LogLevelClustering(settings.clusters(), settings.errorFloor())
            .cluster(error);
        int k = clusters.count();
        // 3. levels onto the range, higher error -> lower sparsity
        double[] base = new double[g];
        for (int i = 0; i < g; i++) {
            int c = clusters.levels()[i];
            base[i] = k == 1 ? (range.min() + range.max()) / 2
                : range.max() - range.width() * c / (k - 1);
        }
        // 4. shift so the clamped parameter-weighted mean is the target
        double shift = solveShift(base, size, settings.cap(), (double) totalZeros);
        double[] sparsity = new double[g];
        double[] ideal = new double[g];
        for (int i = 0; i < g; i++) {
            sparsity[i] = clamp(base[i] + shift, settings.cap());
            ideal[i] = sparsity[i] * size[i];
        }
        // 5. integer zeros, per group then per layer
        long[] zeros = Apportionment.apportion(ideal, capZeros, totalZeros);
        UnitSparsity[] out = new UnitSparsity[layers.size()];
        for (int i = 0; i < g; i++) {
            int[] members = groups.get(i);
            double[] share = new double[members.length];
            long[] max = new long[members.length];
            for (int m = 0; m < members.length; m++) {
                long n = layers.get(members[m]).parameters();
                share[m] = (double) zeros[i] * n / size[i];
                max[m] = (long) Math.floor(settings.cap() * n);
            }
            long[] memberZeros = Apportionment.apportion(share, max, zeros[i]);
            for (int m = 0; m < members.length; m++) {
                LayerError l = layers.get(members[m]);
                out[members[m]] = new UnitSparsity(l.unit(), l.parameters(), l.block(), l.error(),
                    clusters.levels()[i], sparsity[i], memberZeros[m]);
            }
        }
        return new SparsitySchedule(target, range, settings, k, shift, List.of(out));
    }

    private static List<int[]> groups(List<LayerError> layers, Granularity granularity) {
        List<int[]> groups = new ArrayList<>();
        if (granularity == Granularity.LAYER) {
            for (int u = 0; u < layers.size(); u++) {
                groups.add(new int[] {u});
            }
            return groups;
        }
        TreeMap<Integer, List<Integer>> byBlock = new TreeMap<>();
        for (int u = 0; u < layers.size(); u++) {
            byBlock.computeIfAbsent(layers.get(u).block(), b -> new ArrayList<>()).add(u);
        }
        for (List<Integer> members : byBlock.values()) {
            groups.add(members.stream().mapToInt(Integer::intValue).toArray());
        }
        return groups;
    }

    /** The shift t with sum_i size_i * clamp(base_i + t) = zeros (nearest double, by bisection). */
    private static double solveShift(double[] base, long[] size, double cap, double zeros) {
        double lo = -1;
        double hi = 1;
        for (int it = 0; it < 200 && hi - lo > 0; it++) {
            double mid = (lo + hi) / 2;
            if (mid == lo || mid == hi) {
                break;
            }
            double placed = 0;
            for (int i = 0; i < base.length; i++) {
                placed += size[i] * clamp(base[i] + mid, cap);
            }
            if (placed < zeros) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    private static double clamp(double s, double cap) {
        return Math.max(0, Math.min(cap, s));
    }

    /**
     * The EvoPress genome nearest to this schedule on {@code grid} (levels summing to exactly 0), one
     * level per unit in this schedule's order. See {@link GridLevels}.
     */
    public int[] toGridLevels(SparsityGrid grid) {
        long[] numel = new long[units.size()];
        long[] zeros = new long[units.size()];
        for (int u = 0; u < numel.length; u++) {
            numel[u] = units.get(u).parameters();
            zeros[u] = units.get(u).zeros();
        }
        return GridLevels.nearest(grid, numel, zeros);
    }

    /** One entry per input layer, in input order. */
    public List<UnitSparsity> units() {
        return units;
    }

    public double target() {
        return target;
    }

    public SparsityRange range() {
        return range;
    }

    public ScheduleSettings settings() {
        return settings;
    }

    /** K', the number of levels the clustering produced (at most K). */
    public int levels() {
        return levels;
    }

    /** The constant added to every level's sparsity before clamping. */
    public double shift() {
        return shift;
    }

    public long totalParameters() {
        return units.stream().mapToLong(UnitSparsity::parameters).sum();
    }

    public long totalZeros() {
        return units.stream().mapToLong(UnitSparsity::zeros).sum();
    }

    /** totalZeros / totalParameters. */
    public double meanSparsity() {
        return (double) totalZeros() / totalParameters();
    }
}
