package io.evocompress.search;

import java.util.List;

/**
 * Scores candidates; lower is better (KL to the dense model by default). The search engine sees
 * only this interface: a local implementation runs in the driver's JVM (tests, small models), the
 * Spark one fans candidates out as tasks that stitch and score them on executors. Implementations
 * must be deterministic: the same candidates on the same minibatch give the same numbers.
 */
public interface CandidateEvaluator {
    /** One fitness per candidate, in order, all measured on {@code batch}. */
    double[] evaluate(List<Genome> candidates, Minibatch batch);
}
