package io.evocompress.schedule;

import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LogLevelClusteringTest {

    @Test
    void twoWellSeparatedGroupsAreTheTwoClusters() {
        double[] errors = {1e-3, 2e3, 2e-3, 1.5e-3, 1e3};
        LogLevelClustering.Clusters c = new LogLevelClustering(2).cluster(errors);
        assertArrayEquals(new int[] {0, 1, 0, 0, 1}, c.levels());
        assertEquals((-3 + Math.log10(2e-3) + Math.log10(1.5e-3)) / 3, c.centers()[0], 1e-12);
        assertEquals((3 + Math.log10(2e3)) / 2, c.centers()[1], 1e-12);
    }

    @Test
    void dynamicProgrammingFindsTheBruteForceOptimum() {
        SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + random.nextInt(7);
            double[] errors = new double[n];
            for (int i = 0; i < n; i++) {
                // a few repeated values on purpose
                errors[i] = Math.pow(10, random.nextInt(3) == 0 ? 1 : random.nextDouble(-6, 2));
            }
            for (int k = 1; k <= 4; k++) {
                LogLevelClustering.Clusters c = new LogLevelClustering(k).cluster(errors);
                double brute = bruteForce(errors, k);
                assertEquals(brute, c.cost(), 1e-9, "n=" + n + " k=" + k);
                // and its own assignment has that cost
                assertEquals(c.cost(), sse(errors, c.levels(), c.count()), 1e-9);
            }
        }
    }

    @Test
    void moreLevelsThanDistinctValuesGivesOneLevelPerValueAndTiesShareALevel() {
        LogLevelClustering.Clusters c = new LogLevelClustering(5).cluster(new double[] {7, 5, 5, 7, 5});
        assertEquals(2, c.count());
        assertArrayEquals(new int[] {1, 0, 0, 1, 0}, c.levels());
        assertEquals(0, c.cost(), 0);
    }

    @Test
    void zeroErrorsAreRefusedUnlessFloored() {
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> new LogLevelClustering(2).cluster(new double[] {0, 1, 10}));
        assertEquals(true, e.getMessage().contains("error_floor"), e.getMessage());
        LogLevelClustering.Clusters c = new LogLevelClustering(2, 1e-12).cluster(new double[] {0, 1, 10});
        assertArrayEquals(new int[] {0, 1, 1}, c.levels());
        assertEquals(-12, c.centers()[0], 1e-12);
        assertThrows(EvocompressException.class, () -> new LogLevelClustering(0));
    }

    private static double bruteForce(double[] errors, int k) {
        int n = errors.length;
        int[] labels = new int[n];
        double best = Double.POSITIVE_INFINITY;
        int combos = (int) Math.pow(k, n);
        for (int code = 0; code < combos; code++) {
            int x = code;
            for (int i = 0; i < n; i++) {
                labels[i] = x % k;
                x /= k;
            }
            best = Math.min(best, sse(errors, labels, k));
        }
        return best;
    }

    private static double sse(double[] errors, int[] labels, int k) {
        double[] sum = new double[k];
        int[] count = new int[k];
        for (int i = 0; i < errors.length; i++) {
            sum[labels[i]] += Math.log10(errors[i]);
            count[labels[i]]++;
        }
        double cost = 0;
        for (int i = 0; i < errors.length; i++) {
            double d = Math.log10(errors[i]) - sum[labels[i]] / count[labels[i]];
            cost += d * d;
        }
        return cost;
    }
}
