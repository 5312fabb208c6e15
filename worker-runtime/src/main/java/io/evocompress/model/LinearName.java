package io.evocompress.model;

import io.evocompress.EvocompressException;

import java.util.Arrays;

/**
 * The roles of a decoder block's linear layers, for every family: q, k, v, o, gate, up, down. A role
 * fixes the layer's shape, bias flag, input (Hessian group) and DarwinLM structure; its name in a
 * checkpoint is the family's ({@link Architecture#linearPath}, e.g. OPT's {@code fc1} for up).
 * {@link #path} is the Llama name, the default.
 */
public enum LinearName {
    Q_PROJ("self_attn.q_proj"),
    K_PROJ("self_attn.k_proj"),
    V_PROJ("self_attn.v_proj"),
    O_PROJ("self_attn.o_proj"),
    GATE_PROJ("mlp.gate_proj"),
    UP_PROJ("mlp.up_proj"),
    DOWN_PROJ("mlp.down_proj");

    private final String path;

    LinearName(String path) {
        this.path = path;
    }

    /** The name inside a block, e.g. {@code self_attn.q_proj}. */
    public String path() {
        return path;
    }

    public boolean isAttention() {
        return ordinal() <= O_PROJ.ordinal();
    }

    /** [out, in] of this layer's weight for a config. */
    public long[] shape(ModelConfig c) {
        return switch (this) {
            case Q_PROJ -> new long[] {c.qDim(), c.hiddenSize()};
            case K_PROJ, V_PROJ -> new long[] {c.kvDim(), c.hiddenSize()};
            case O_PROJ -> new long[] {c.hiddenSize(), c.qDim()};
            case GATE_PROJ, UP_PROJ -> new long[] {c.intermediateSize(), c.hiddenSize()};
            case DOWN_PROJ -> new long[] {c.hiddenSize(), c.intermediateSize()};
        };
    }

    public boolean hasBias(ModelConfig c) {
        return switch (this) {
            case Q_PROJ, K_PROJ, V_PROJ -> c.qkvBias();
            case O_PROJ -> c.oBias();
            default -> c.mlpBias();
        };
    }

    /** Parses {@code q_proj} or {@code self_attn.q_proj}. */
    public static LinearName parse(String name) {
        for (LinearName n : values()) {
            if (n.path.equals(name) || n.path.endsWith("." + name)) {
                return n;
            }
        }
        throw new EvocompressException("Unknown linear layer '" + name + "'; expected one of "
            + Arrays.stream(values()).map(LinearName::path).toList());
    }
}
