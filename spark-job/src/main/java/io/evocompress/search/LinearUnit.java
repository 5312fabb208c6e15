package io.evocompress.search;

/**
 * A linear layer as a search unit.
 *
 * @param name  its module name in the checkpoint, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param numel its number of weights (out * in)
 */
public record LinearUnit(String name, long numel) {
    public LinearUnit {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("unit name must not be blank");
        }
        if (numel <= 0) {
            throw new IllegalArgumentException("unit " + name + " must have numel > 0, but had " + numel);
        }
    }
}
