package io.evocompress.structured;

import io.evocompress.calibration.InputGroup;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;

/**
 * DarwinLM's two groups of structures (by role, {@link LinearName}: the same for every family; a
 * family without a gate projection frees 2 * hidden per neuron) (ALGORITHMS.md section 5). The structured OBS runs on the
 * layer that reads the structures as input columns; the layers that produce them lose the matching
 * rows when a model is stitched ({@link StructuredModel}).
 * <ul>
 *   <li>{@link #ATTENTION}: a query head = head_dim input columns of o_proj and head_dim rows of
 *       q_proj. With grouped-query attention (and without) k_proj and v_proj are kept whole, so a
 *       removed head frees 2 * hidden * head_dim parameters; in a family that stores q, k and v per
 *       head (BLOOM, {@link io.evocompress.model.Architecture#prunesKeyValueWithHeads}) the head's k and
 *       v rows go too: 4 * hidden * head_dim (plus the rows' biases).</li>
 *   <li>{@link #MLP}: a neuron = one input column of down_proj and one row each of gate_proj and
 *       up_proj: 3 * hidden parameters (2 * hidden without a gate; plus the rows' biases).</li>
 * </ul>
 */
public enum StructureGroup {
    ATTENTION(LinearName.O_PROJ, InputGroup.O),
    MLP(LinearName.DOWN_PROJ, InputGroup.DOWN);

    private final LinearName pruned;
    private final InputGroup input;

    StructureGroup(LinearName pruned, InputGroup input) {
        this.pruned = pruned;
        this.input = input;
    }

    /** The layer the OBS prunes input columns of (o_proj, down_proj). */
    public LinearName prunedLayer() {
        return pruned;
    }

    /** The Hessian that layer's input gives. */
    public InputGroup input() {
        return input;
    }

    /** Input columns per structure. */
    public int width(ModelConfig c) {
        return this == ATTENTION ? c.headDim() : 1;
    }

    /** Structures per block in the dense model. */
    public int structures(ModelConfig c) {
        return this == ATTENTION ? c.numHeads() : c.intermediateSize();
    }

    /**
     * Parameters one removed structure frees, biases included: a head's q rows (and, where the family
     * prunes them with it, BLOOM's multi-head attention, its k and v rows) and o columns; a neuron's
     * gate/up rows and down column.
     */
    public long paramsPerStructure(ModelConfig c) {
        int h = c.hiddenSize();
        int d = c.headDim();
        if (this == ATTENTION) {
            int rows = ArchitectureRegistry.forType(c.modelType(), "config").prunesKeyValueWithHeads() ? 3 : 1;
            return (long) rows * d * (h + (c.qkvBias() ? 1 : 0)) + (long) h * d;
        }
        int rows = c.forward().mlp().gated() ? 2 : 1;
        return (long) rows * (h + (c.mlpBias() ? 1 : 0)) + h;
    }

    /** Prunable parameters of one block in this group. */
    public long prunableParams(ModelConfig c) {
        return paramsPerStructure(c) * structures(c);
    }

    public String key() {
        return name().toLowerCase();
    }
}
