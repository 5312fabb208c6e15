package io.evocompress.structured;

import io.evocompress.calibration.InputGroup;
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
 *       removed head frees 2 * hidden * head_dim parameters.</li>
 *   <li>{@link #MLP}: a neuron = one input column of down_proj and one row each of gate_proj and
 *       up_proj: 3 * hidden parameters.</li>
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

    /** Parameters one removed structure frees (biases ignored). */
    public long paramsPerStructure(ModelConfig c) {
        return this == ATTENTION ? 2L * c.hiddenSize() * c.headDim() : (c.forward().mlp().gated() ? 3L : 2L) * c.hiddenSize();
    }

    /** Prunable parameters of one block in this group. */
    public long prunableParams(ModelConfig c) {
        return paramsPerStructure(c) * structures(c);
    }

    public String key() {
        return name().toLowerCase();
    }
}
