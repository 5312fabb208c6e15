package io.evocompress.metrics;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TokenSequences;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Next-token NLL and KL on hand-made logits (closed form) and on stories260K against itself. */
class TokenMetricsTest {
    private static final float LN3 = (float) Math.log(3);

    private NDManager m;

    @BeforeEach
    void manager() {
        m = NDManager.newBaseManager(Device.cpu());
    }

    @AfterEach
    void close() {
        m.close();
    }

    /**
     * P: position 0 uniform (1/2, 1/2), position 1 (3/4, 1/4), position 2 certain of token 0.
     * Q: position 0 (3/4, 1/4), position 1 uniform, position 2 certain of token 1.
     * Position 2 is the last one: it predicts nothing and must not count (it would add ~200 nats).
     */
    private NDArray logitsP(int batch) {
        float[] one = {0, 0, LN3, 0, 100, -100};
        return m.create(repeat(one, batch), new Shape(batch, 3, 2));
    }

    private NDArray logitsQ(int batch) {
        float[] one = {LN3, 0, 0, 0, -100, 100};
        return m.create(repeat(one, batch), new Shape(batch, 3, 2));
    }

    private static float[] repeat(float[] a, int times) {
        float[] out = new float[a.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(a, 0, out, i * a.length, a.length);
        }
        return out;
    }

    @Test
    void klOnHandMadeLogits() {
        // KL_0 = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4)) = 1/2 ln(4/3)
        // KL_1 = 3/4 ln((3/4)/(1/2)) + 1/4 ln((1/4)/(1/2)) = 3/4 ln(3/2) - 1/4 ln 2
        double expected = 0.5 * Math.log(4.0 / 3) + 0.75 * Math.log(1.5) - 0.25 * Math.log(2);
        assertEquals(0.274653, expected, 1e-6);
        assertEquals(expected, TokenMetrics.klSum(logitsP(1), logitsQ(1)), 1e-6);
        assertEquals(2 * expected, TokenMetrics.klSum(logitsP(2), logitsQ(2)), 2e-6, "sums over the batch");
        // KL is not symmetric. (Summed over both positions above it happens to be, as P and Q swap roles
        // between them.) One position: P = (3/4, 1/4), Q = uniform, then the other way round.
        NDArray p1 = m.create(new float[] {LN3, 0, 5, 5}, new Shape(1, 2, 2));
        NDArray q1 = m.create(new float[] {0, 0, 1, 9}, new Shape(1, 2, 2));
        assertEquals(0.75 * Math.log(1.5) - 0.25 * Math.log(2), TokenMetrics.klSum(p1, q1), 1e-6);
        assertEquals(0.5 * Math.log(4.0 / 3), TokenMetrics.klSum(q1, p1), 1e-6);
        assertEquals(0, TokenMetrics.klSum(logitsP(1), logitsP(1)), 0);
    }

    @Test
    void nllOnHandMadeLogits() {
        // ids 0, 1, 0: position 0 must predict 1 (p = 1/2), position 1 must predict 0 (p = 3/4).
        NDArray ids = m.create(new int[] {0, 1, 0}, new Shape(1, 3));
        double expected = Math.log(2) + Math.log(4.0 / 3);
        assertEquals(0.980829, expected, 1e-6);
        assertEquals(expected, TokenMetrics.nllSum(logitsP(1), ids), 1e-6);
        // Under Q: position 0 gives token 1 probability 1/4, position 1 gives token 0 probability 1/2.
        assertEquals(Math.log(4) + Math.log(2), TokenMetrics.nllSum(logitsQ(1), ids), 1e-6);
        // int64 ids and a batch of two different sequences: 0,1,0 and 1,0,1.
        NDArray ids2 = m.create(new long[] {0, 1, 0, 1, 0, 1}, new Shape(2, 3));
        double second = Math.log(2) + Math.log(4); // p = 1/2 for token 0, then 1/4 for token 1
        assertEquals(expected + second, TokenMetrics.nllSum(logitsP(2), ids2), 1e-6);
    }

    @Test
    void klIsInvariantToShiftingLogitsPerPosition() {
        float[] p = {0, 0, LN3, 0, 100, -100};
        float[] shifted = {7, 7, LN3 - 3, -3, 0, 0};
        assertEquals(0, TokenMetrics.klSum(m.create(p, new Shape(1, 3, 2)), m.create(shifted, new Shape(1, 3, 2))), 1e-6);
    }

    @Test
    void modelAgainstItselfHasZeroKlAndTheReferenceNll() {
        int[] ids = ModelFixtures.referenceIds();
        try (CheckpointReader reader = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm model = ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32)) {
            // 100 + 100 + 56 tokens: two lengths, so two batches of size 2 and 1.
            List<int[]> chunks = TokenSequences.chunks(ids, 100);
            assertEquals(3, chunks.size());
            List<Integer> progress = new ArrayList<>();
            SequenceScores s = new ModelScorer(model, model, 2).score(chunks, progress::add);
            assertEquals(List.of(2, 3), progress);
            assertEquals(99 + 99 + 55, s.nllTokens());
            assertEquals(s.nllTokens(), s.klTokens());
            System.out.printf("stories260K vs itself on 3 chunks: mean KL %.3g, nll/token %.6f%n",
                s.klDivergence(), s.nllPerToken());
            assertTrue(Math.abs(s.klDivergence()) < 1e-6, "KL(model || model) = " + s.klDivergence());

            // The scorer's NLL is the sum of each chunk's own NLL.
            double separate = 0;
            for (int[] chunk : chunks) {
                NDArray c = m.create(chunk, new Shape(1, chunk.length));
                separate += TokenMetrics.nllSum(model.logits(c), c);
            }
            assertEquals(separate, s.nllSum(), 1e-3);
            // Shorter contexts predict worse than the full 256-token reference (1.3078 nats).
            assertTrue(s.nllPerToken() > 1.3078 && s.nllPerToken() < 1.6, "nll per token " + s.nllPerToken());
            assertEquals(Math.exp(s.nllPerToken()), s.perplexity(), 1e-12);

            SequenceScores noReference = new ModelScorer(model, null, 8).score(chunks, null);
            assertEquals(s.nllSum(), noReference.nllSum(), 1e-3);
            assertTrue(Double.isNaN(noReference.klDivergence()));
        }
    }
}
