package io.evocompress.structured;

import ai.djl.ndarray.types.DataType;
import io.evocompress.metrics.ModelScorer;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.CausalLm;
import io.evocompress.train.NextTokenLoss;
import io.evocompress.train.Trainer;

import java.util.List;

/**
 * DarwinLM's training-aware fitness of one candidate (ALGORITHMS.md section 5): the candidate is
 * stitched from the database into a fresh float32 model (the dense model and the database are only
 * read), fine-tuned with {@link Trainer} (AdamW, {@link Trainer.Settings#darwinLm()} by default: lr
 * 1e-5), one sequence per step over the stage's training sequences in order (the same for every
 * candidate of the stage), and then scored by KL(dense || candidate) on the stage's fitness
 * sequences. The candidate model is closed before returning.
 *
 * <p>DJL allows one gradient collector per JVM at a time: callers run one candidate at a time per JVM
 * (on Spark: one task slot per executor, or the evaluator serializes).
 */
public final class CandidateTraining {
    private static final Object ONE_TRAINER_PER_JVM = new Object();

    private CandidateTraining() {
    }

    /** What fine-tuning and scoring gave: KL and NLL after training, the first and last training losses. */
    public record Outcome(double klDivergence, double nllPerToken, double firstLoss, double lastLoss, int steps,
                          double seconds) {
    }

    public static Outcome run(StructuredModel candidate, CausalLm dense, List<int[]> training, List<int[]> fitness,
                              Trainer.Settings settings, int scoreBatch) {
        long start = System.nanoTime();
        synchronized (ONE_TRAINER_PER_JVM) {
            try (CausalLm model = candidate.loadSmaller(dense.device(), DataType.FLOAT32)) {
                double first = Double.NaN;
                double last = Double.NaN;
                if (!training.isEmpty()) {
                    try (Trainer trainer = new Trainer(model, new NextTokenLoss(), settings)) {
                        for (int[] seq : training) {
                            double loss = trainer.step(List.of(seq)).loss();
                            if (Double.isNaN(first)) {
                                first = loss;
                            }
                            last = loss;
                        }
                    }
                }
                SequenceScores s = new ModelScorer(model, dense, scoreBatch).score(fitness, null);
                return new Outcome(s.klDivergence(), s.nllPerToken(), first, last, training.size(),
                    (System.nanoTime() - start) / 1e9);
            }
        }
    }
}
