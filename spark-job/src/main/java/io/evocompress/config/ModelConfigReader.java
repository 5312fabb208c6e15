package io.evocompress.config;

import io.evocompress.model.ModelReference;

/**
 * How a command's settings resolve the model they name: from the checkpoint (config.json, checked
 * against the tensors where a stage needs them, as every job does before its work), or from
 * config.json alone, as {@code evocompress plan} does for a model that is not on this machine
 * (conf/models/).
 */
public interface ModelConfigReader {

    /** The model at {@code location}, resolved once. */
    ModelReference read(String location);

    /** The checkpoint ({@link ModelReference#resolve}). */
    ModelConfigReader CHECKPOINT = ModelReference::resolve;

    /** {@code <model>/config.json} alone ({@link ModelReference#configJsonOnly}). */
    ModelConfigReader CONFIG_JSON = ModelReference::configJsonOnly;
}
