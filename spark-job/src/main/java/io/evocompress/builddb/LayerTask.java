package io.evocompress.builddb;

import io.evocompress.model.LinearName;

import java.io.Serializable;

/**
 * One layer of a database build: its unit name (the Hugging Face tensor prefix without ".weight",
 * e.g. {@code model.layers.3.self_attn.q_proj}), its block and which linear layer it is.
 */
public record LayerTask(String unit, int block, LinearName linear) implements Serializable {
}
