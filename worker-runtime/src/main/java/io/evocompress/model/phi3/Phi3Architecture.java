package io.evocompress.model.phi3;

import io.evocompress.EvocompressException;
import io.evocompress.model.FusedLinear;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.llama.LlamaArchitecture;

import java.util.List;

/**
 * Phi-3 ({@code model_type: phi3}): the Llama block (RMSNorm, rotary, SwiGLU, grouped-query
 * attention, no biases) with q/k/v stored fused as {@code self_attn.qkv_proj} ([q; k; v] rows) and
 * gate/up as {@code mlp.gate_up_proj} ([gate; up]), and longrope scaling ({@code rope_scaling.type:
 * longrope}: short factors up to {@code original_max_position_embeddings} tokens, long ones beyond,
 * cos/sin scaled by the attention factor). The search's units are the parts
 * ({@code self_attn.qkv_proj.q}, ...); export fuses them back.
 */
public class Phi3Architecture extends LlamaArchitecture {
    private static final FusedLinear QKV = new FusedLinear("self_attn.qkv_proj",
        List.of(LinearName.Q_PROJ, LinearName.K_PROJ, LinearName.V_PROJ), false);
    private static final FusedLinear GATE_UP = new FusedLinear("mlp.gate_up_proj",
        List.of(LinearName.GATE_PROJ, LinearName.UP_PROJ), false);

    @Override
    public String modelType() {
        return "phi3";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        double partial = f.optionalDouble("partial_rotary_factor", 1.0);
        if (partial != 1.0) {
            throw new EvocompressException("config.json: partial_rotary_factor " + partial
                + " is not supported for phi3 (rotary on part of each head); only 1.0 is.");
        }
        return build(f, false, false, false, f.optionalInt("sliding_window", 0));
    }

    @Override
    public String linearPath(LinearName name) {
        return switch (name) {
            case Q_PROJ -> "self_attn.qkv_proj.q";
            case K_PROJ -> "self_attn.qkv_proj.k";
            case V_PROJ -> "self_attn.qkv_proj.v";
            case O_PROJ -> "self_attn.o_proj";
            case GATE_PROJ -> "mlp.gate_up_proj.gate";
            case UP_PROJ -> "mlp.gate_up_proj.up";
            case DOWN_PROJ -> "mlp.down_proj";
        };
    }

    @Override
    public List<FusedLinear> fused() {
        return List.of(QKV, GATE_UP);
    }
}
