package io.evocompress.model;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;

import java.util.BitSet;

/**
 * The decoder blocks a checkpoint's tensors hold, checked against config.json's
 * {@code num_hidden_layers} before anything sized by that number is built. The check reads only the
 * tensor index, so it takes the same time whatever the config claims (a config claiming 10^8 blocks
 * fails at once instead of building per-block lists), and a config naming fewer blocks than the file
 * holds (whose extra tensors would silently be ignored) fails too.
 */
public final class BlockCount {
    private BlockCount() {
    }

    /** Fails unless the checkpoint holds exactly blocks 0 .. num_hidden_layers - 1. */
    public static void check(ModelConfig config, CheckpointReader checkpoint) {
        String prefix = ArchitectureRegistry.forType(config.modelType(), "config.json").blockPrefix(0);
        String stem = prefix.substring(0, prefix.length() - 2); // "model.layers." from "model.layers.0."
        BitSet blocks = new BitSet();
        for (String name : checkpoint.tensorFiles().keySet()) {
            if (!name.startsWith(stem)) {
                continue;
            }
            int dot = name.indexOf('.', stem.length());
            String index = dot < 0 ? "" : name.substring(stem.length(), dot);
            if (index.isEmpty() || index.length() > 9 || !index.chars().allMatch(Character::isDigit)) {
                continue;
            }
            blocks.set(Integer.parseInt(index));
        }
        int held = blocks.cardinality();
        int highest = blocks.length(); // one past the highest block index
        String where = checkpoint.dir() + "/config.json";
        if (held != highest) {
            throw new EvocompressException("Checkpoint " + checkpoint.dir() + " lacks block " + blocks.nextClearBit(0)
                + " (its tensors name blocks up to " + stem + (highest - 1) + "): the weights are incomplete.");
        }
        if (held != config.numLayers()) {
            throw new EvocompressException(where + " says num_hidden_layers: " + config.numLayers() + ", but the checkpoint's "
                + "tensors hold " + held + " decoder blocks (" + (held == 0 ? "none named " + stem + "N" : stem + "0 to " + stem
                + (held - 1)) + "): use the config.json that belongs to these weights, or set num_hidden_layers to " + held + ".");
        }
    }
}
