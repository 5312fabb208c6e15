package io.evocompress.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.model.CausalLm;
import io.evocompress.model.DecoderBlock;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dense calibration on stories260K: the observed inputs are the real linear inputs (checked through
 * identities of the block's forward), and the block-by-block Hessians equal (2/n) sum X^T X computed
 * directly from them, shared by q/k/v and by gate/up.
 */
class DenseCalibrationTest {
    private static final int SEQUENCES = 6;
    private static final int SEQ_LEN = 32;
    private static final int BLOCK = 1;

    private static ModelConfig config;
    private static List<int[]> sequences;
    private static BlockHessians stats;
    private static float[] blockInput;                                    // (N, T, H)
    private static float[] blockOutput;                                   // (N, T, H)
    private static final Map<LinearName, float[]> observed = new EnumMap<>(LinearName.class);
    private static final List<LinearName> calls = new ArrayList<>();
    private static final Map<LinearName, float[]> weights = new EnumMap<>(LinearName.class);

    @BeforeAll
    static void calibrate() {
        java.nio.file.Path dir = Fixtures.stories260k();
        sequences = CalibrationFixtures.calibration(dir, SEQUENCES, SEQ_LEN);
        try (CausalLm model = CalibrationFixtures.load(dir)) {
            config = model.config();
            // batches of 4 and 2: the running form must weigh them by their sequence counts
            List<BlockHessians> all = DenseCalibration.collect(model, sequences, 4, BLOCK + 1);
            assertEquals(BLOCK + 1, all.size());
            stats = all.get(BLOCK);
            assertEquals(BLOCK, stats.block());
            // the same inputs, captured directly in one batch of all sequences
            try (NDManager m = model.manager().newSubManager()) {
                int[] flat = new int[SEQUENCES * SEQ_LEN];
                for (int i = 0; i < SEQUENCES; i++) {
                    System.arraycopy(sequences.get(i), 0, flat, i * SEQ_LEN, SEQ_LEN);
                }
                NDArray h = model.runBlocks(model.embed(m.create(flat, new Shape(SEQUENCES, SEQ_LEN))), 0, BLOCK);
                blockInput = h.toFloatArray();
                NDArray out = model.runBlock(h, BLOCK, (name, input) -> {
                    calls.add(name);
                    observed.put(name, input.toFloatArray());
                });
                blockOutput = out.toFloatArray();
            }
            DecoderBlock block = model.block(BLOCK);
            for (LinearName name : LinearName.values()) {
                weights.put(name, block.weight(name).toFloatArray());
            }
        }
    }

    @Test
    void observerReportsEachDistinctInputOnce() {
        assertEquals(List.of(LinearName.Q_PROJ, LinearName.O_PROJ, LinearName.GATE_PROJ, LinearName.DOWN_PROJ),
            calls);
        long tokens = (long) SEQUENCES * SEQ_LEN;
        assertEquals(tokens * config.hiddenSize(), observed.get(LinearName.Q_PROJ).length);
        assertEquals(tokens * config.qDim(), observed.get(LinearName.O_PROJ).length);
        assertEquals(tokens * config.intermediateSize(), observed.get(LinearName.DOWN_PROJ).length);
    }

    @Test
    void observedInputsSatisfyTheBlockForward() {
        int hidden = config.hiddenSize();
        int inter = config.intermediateSize();
        int d = config.headDim();
        float[] xo = observed.get(LinearName.O_PROJ);
        float[] xgu = observed.get(LinearName.GATE_PROJ);
        float[] xdown = observed.get(LinearName.DOWN_PROJ);
        float[] xqkv = observed.get(LinearName.Q_PROJ);
        double maxResidual = 0;
        double maxSwiglu = 0;
        double maxFirstToken = 0;
        for (int t = 0; t < SEQUENCES * SEQ_LEN; t++) {
            // residual stream: y = x + o_proj(X_o) + down_proj(X_down)
            double[] attn = matVec(weights.get(LinearName.O_PROJ), hidden, config.qDim(), xo, t);
            double[] mlp = matVec(weights.get(LinearName.DOWN_PROJ), hidden, inter, xdown, t);
            for (int i = 0; i < hidden; i++) {
                double expected = blockInput[t * hidden + i] + attn[i] + mlp[i];
                maxResidual = Math.max(maxResidual, Math.abs(expected - blockOutput[t * hidden + i]));
            }
            // SwiGLU: X_down = silu(gate(X_gu)) * up(X_gu)
            double[] gate = matVec(weights.get(LinearName.GATE_PROJ), inter, hidden, xgu, t);
            double[] up = matVec(weights.get(LinearName.UP_PROJ), inter, hidden, xgu, t);
            for (int i = 0; i < inter; i++) {
                double expected = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                maxSwiglu = Math.max(maxSwiglu, Math.abs(expected - xdown[t * inter + i]));
            }
            // causal attention at position 0 sees only itself: head h outputs v of its kv head
            if (t % SEQ_LEN == 0) {
                double[] v = matVec(weights.get(LinearName.V_PROJ), config.kvDim(), hidden, xqkv, t);
                for (int head = 0; head < config.numHeads(); head++) {
                    int kvHead = head / config.groupSize();
                    for (int j = 0; j < d; j++) {
                        double diff = v[kvHead * d + j] - xo[t * config.qDim() + head * d + j];
                        maxFirstToken = Math.max(maxFirstToken, Math.abs(diff));
                    }
                }
            }
        }
        System.out.printf("observer identities: residual %.2e, swiglu %.2e, first-token attention %.2e%n",
            maxResidual, maxSwiglu, maxFirstToken);
        assertTrue(maxResidual < 1e-4, "residual identity off by " + maxResidual);
        assertTrue(maxSwiglu < 1e-4, "SwiGLU identity off by " + maxSwiglu);
        assertTrue(maxFirstToken < 1e-4, "first-token attention identity off by " + maxFirstToken);
    }

    @Test
    void hessiansEqualTheDirectFormAndAreShared() {
        assertSame(stats.forLayer(LinearName.Q_PROJ), stats.forLayer(LinearName.K_PROJ));
        assertSame(stats.forLayer(LinearName.Q_PROJ), stats.forLayer(LinearName.V_PROJ));
        assertSame(stats.forLayer(LinearName.GATE_PROJ), stats.forLayer(LinearName.UP_PROJ));
        for (InputGroup group : InputGroup.values()) {
            float[] x = observed.get(group.reporter());
            Hessian h = stats.inputs().get(group).hessian();
            int dim = h.dim();
            assertEquals(SEQUENCES, h.sequences());
            double[] direct = new double[dim * dim];
            for (int t = 0; t < x.length / dim; t++) {
                for (int i = 0; i < dim; i++) {
                    double xi = x[t * dim + i];
                    for (int j = 0; j < dim; j++) {
                        direct[i * dim + j] += xi * x[t * dim + j];
                    }
                }
            }
            double maxAbs = 0;
            double maxDiff = 0;
            for (int k = 0; k < direct.length; k++) {
                direct[k] *= 2.0 / SEQUENCES;
                maxAbs = Math.max(maxAbs, Math.abs(direct[k]));
                maxDiff = Math.max(maxDiff, Math.abs(direct[k] - h.values()[k]));
            }
            System.out.printf("%s Hessian (%d x %d): max |H - direct| / max |H| = %.2e%n", group, dim, dim, maxDiff / maxAbs);
            assertTrue(maxDiff < 1e-5 * maxAbs, group + ": max |H - direct| = " + maxDiff + " of max " + maxAbs);
            double[] norms = stats.inputs().get(group).columnNorms();
            for (int j = 0; j < dim; j++) {
                assertEquals(Math.sqrt(direct[j * dim + j] * SEQUENCES / 2), norms[j], 1e-5 * norms[j] + 1e-9);
            }
        }
    }

    /** Row t of x (tokens, in) times W^T, W (out, in). */
    private static double[] matVec(float[] w, int out, int in, float[] x, int t) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) {
                s += (double) w[o * in + i] * x[t * in + i];
            }
            y[o] = s;
        }
        return y;
    }
}
