package io.evocompress.plan;

import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.TensorLayout;

import java.util.Map;

/**
 * A model's sizes from its config alone: every tensor its family's {@link TensorLayout} implies,
 * counted whole (parameters) and per decoder block.
 *
 * @param parameters      every parameter of the checkpoint (embeddings, blocks, norms, biases, head)
 * @param blockParameters the largest block's parameters (weights, biases and norms)
 * @param blockLinear     the largest block's linear weights (what a database stores variants of)
 * @param largestLinear   the largest linear weight's elements
 * @param embedAndHead    embedding, LM head (when untied) and the other tensors outside the blocks
 * @param largestTensor   the largest tensor's elements
 */
public record ModelFootprint(ModelConfig config, long parameters, long blockParameters, long blockLinear,
                             long largestLinear, long embedAndHead, long largestTensor) {

    public static ModelFootprint of(ModelConfig config) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        Map<String, long[]> shapes = TensorLayout.of(config).shapes();
        long total = 0;
        long largest = 0;
        long[] perBlock = new long[config.numLayers()];
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            total += n;
            largest = Math.max(largest, n);
            for (int b = 0; b < perBlock.length; b++) {
                if (e.getKey().startsWith(arch.blockPrefix(b))) {
                    perBlock[b] += n;
                    break;
                }
            }
        }
        long block = 0;
        long blocks = 0;
        for (long b : perBlock) {
            block = Math.max(block, b);
            blocks += b;
        }
        long linear = 0;
        long widest = 0;
        for (LinearName n : arch.linears(config)) {
            long[] s = n.shape(config);
            linear += s[0] * s[1];
            widest = Math.max(widest, s[0] * s[1]);
        }
        return new ModelFootprint(config, total, block, linear, widest, total - blocks, largest);
    }

    public int blocks() {
        return config.numLayers();
    }

    /** FLOPs of one block on one token of a sequence of {@code seqLen}: 2 per weight, and QK^T and PV over the full T. */
    public double blockFlopsPerToken(int seqLen) {
        return 2.0 * config.linearParamsPerBlock() + 4.0 * seqLen * config.qDim();
    }

    /** FLOPs of the LM head on one token. */
    public double headFlopsPerToken() {
        return 2.0 * config.vocabSize() * config.embedDim();
    }
}
