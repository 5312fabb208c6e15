package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Autograd through the whole forward (embedding, RMSNorm, q/k/v with RoPE and grouped-query causal
 * attention, SwiGLU, final norm, untied head) against central finite differences of the loss.
 */
class GradientCheckTest {
    @TempDir
    java.nio.file.Path tmp;

    private static final List<String> CHECKED = List.of(
        "model.embed_tokens.weight",
        "model.layers.0.input_layernorm.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.weight",
        "model.layers.0.self_attn.v_proj.weight",
        "model.layers.0.self_attn.o_proj.weight",
        "model.layers.1.post_attention_layernorm.weight",
        "model.layers.1.mlp.gate_proj.weight",
        "model.layers.1.mlp.down_proj.weight",
        "model.norm.weight",
        "lm_head.weight");

    @Test
    void crossEntropyGradientsMatchFiniteDifferences() {
        List<int[]> batch = TinyModels.randomBatch(2, 12, TinyModels.VOCAB, 7);
        EngineThreads one = EngineThreads.single();
        try (one; CausalLm model = TinyModels.load(TinyModels.write(tmp, 3));
             Trainer trainer = new Trainer(model, new NextTokenLoss(), Trainer.Settings.darwinLm())) {
            // weights ~ N(0, 0.2^2) instead of 0.02: attention far from uniform, every gradient well above noise
            model.parameters().values().stream().filter(p -> p.getShape().dimension() == 2).forEach(p -> p.muli(10f));
            Map<String, float[]> grads = trainer.gradients(batch);
            assertEquals(model.parameters().keySet(), grads.keySet(), "a gradient for every weight");
            // a second backward after zeroing gives the same gradient (no accumulation across steps)
            assertArrayEquals(grads.get("model.layers.0.self_attn.q_proj.weight"),
                trainer.gradients(batch).get("model.layers.0.self_attn.q_proj.weight"), 1e-7f);
            for (String name : CHECKED) {
                float[] g = grads.get(name);
                // the three entries with the largest gradients: well above float32 noise of the loss
                for (int index : largest(g, 3)) {
                    double numeric = finiteDifference(model, batch, name, index, 1e-2);
                    double analytic = g[index];
                    assertEquals(numeric, analytic, 0.03 * Math.abs(numeric) + 2e-4,
                        name + "[" + index + "]: autograd " + analytic + " vs finite difference " + numeric);
                }
            }
        }
    }

    private static double finiteDifference(CausalLm model, List<int[]> batch, String name, int index, double eps) {
        NDArray p = model.parameters().get(name);
        float[] values = p.toFloatArray();
        float original = values[index];
        values[index] = (float) (original + eps);
        p.set(FloatBuffer.wrap(values));
        double plus = loss(model, batch);
        values[index] = (float) (original - eps);
        p.set(FloatBuffer.wrap(values));
        double minus = loss(model, batch);
        values[index] = original;
        p.set(FloatBuffer.wrap(values));
        return (plus - minus) / (2 * eps);
    }

    static double loss(CausalLm model, List<int[]> batch) {
        int t = batch.get(0).length;
        int[] flat = new int[batch.size() * t];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(batch.get(i), 0, flat, i * t, t);
        }
        try (NDManager m = model.manager().newSubManager()) {
            NDArray ids = m.create(flat, new Shape(batch.size(), t));
            return new NextTokenLoss().loss(model.logits(ids), ids).getFloat();
        }
    }

    private static int[] largest(float[] g, int k) {
        int[] best = new int[k];
        java.util.Arrays.fill(best, -1);
        for (int i = 0; i < g.length; i++) {
            for (int j = 0; j < k; j++) {
                if (best[j] < 0 || Math.abs(g[i]) > Math.abs(g[best[j]])) {
                    System.arraycopy(best, j, best, j + 1, k - j - 1);
                    best[j] = i;
                    break;
                }
            }
        }
        assertTrue(Math.abs(g[best[0]]) > 1e-3, "gradient too small to check: " + g[best[0]]);
        return best;
    }
}
