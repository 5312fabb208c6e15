package io.evocompress.search;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * An in-process evaluator whose fitness is a known function of the genome plus deterministic noise
 * that depends on the genome and the minibatch and shrinks as 1/sqrt(tokens), like a KL estimate.
 * Records every call.
 */
final class SyntheticEvaluator implements CandidateEvaluator {
    record Call(List<Genome> candidates, Minibatch batch, double[] scores) {
    }

    private final ToDoubleFunction<Genome> fitness;
    private final double noise;
    final List<Call> calls = new ArrayList<>();

    SyntheticEvaluator(ToDoubleFunction<Genome> fitness, double noise) {
        this.fitness = fitness;
        this.noise = noise;
    }

    @Override
    public double[] evaluate(List<Genome> candidates, Minibatch batch) {
        double[] out = new double[candidates.size()];
        for (int i = 0; i < out.length; i++) {
            Genome g = candidates.get(i);
            double u = new SplittableRandom(g.hashCode() * 0x9E3779B97F4A7C15L + batch.hashCode()).nextDouble() * 2 - 1;
            out[i] = fitness.applyAsDouble(g) + noise * u / Math.sqrt(batch.tokens());
        }
        calls.add(new Call(List.copyOf(candidates), batch, out.clone()));
        return out;
    }

    long scored() {
        return calls.stream().mapToLong(c -> c.candidates().size()).sum();
    }
}
