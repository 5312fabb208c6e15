package io.evocompress.plan;

import io.evocompress.model.ModelConfig;

/**
 * Peak memory of one candidate-evaluation task, in bytes, for a forward over {@code batch} sequences
 * of {@code seqLen} tokens in a compute dtype of {@code d} bytes:
 * <ul>
 *   <li>activations A of one batch: the residual stream (B T H d), plus the larger of a block's attention
 *       (q, k, v and their output, twice, and the scores and probabilities, 2 B heads T^2 d), its MLP
 *       (3 B T I d) and the head's logits with the metric's log-softmax and the teacher's slice in
 *       float32 (3 B T V 4);</li>
 *   <li>resident (today's path): the candidate model whole (every parameter, d each), the dense weights
 *       of the linear layers it replaced (at most all of them) and the variants it uses, plus A;</li>
 *   <li>streamed (the block-streamed design): one block's dense weights, the variants the stage's
 *       candidates use at the busiest block ({@link PrefixSharing#variantsAtBlock} layers of the largest
 *       size), the embedding or head (the larger), one hidden state (B T H d) per live prefix (at most
 *       the candidates plus the parent), plus A;</li>
 *   <li>host: the teacher's outputs (pool tokens x V x 4 bytes for kl, x K x 8 for topk-kl; none for
 *       ppl), plus the largest tensor read in float32 and converted (resident), or one block read in
 *       float32 and converted (streamed).</li>
 * </ul>
 */
public record TaskMemory(long activations, long residentDevice, long residentHost, long streamedDevice, long streamedHost,
                         long teacherHost) {

    public static TaskMemory of(ModelFootprint m, int d, int batch, int seqLen, long teacherBytes, double variantsAtBlock,
                                int livePrefixes) {
        ModelConfig c = m.config();
        long bt = (long) batch * seqLen;
        long stream = bt * c.hiddenSize() * d;
        long attention = 2 * bt * (c.qDim() + 2L * c.kvDim() + c.qDim()) * d + 2L * batch * c.numHeads() * seqLen * seqLen * d;
        long mlp = 3 * bt * c.intermediateSize() * d;
        long head = 3 * bt * c.vocabSize() * 4;
        long a = stream + Math.max(Math.max(attention, mlp), head);
        long linears = m.blockLinear() * m.blocks();
        long residentDevice = m.parameters() * d + 2 * linears * d + a;
        long residentHost = teacherBytes + 2 * m.largestTensor() * 4;
        long embedOrHead = (long) c.vocabSize() * c.embedDim() * d;
        long streamedDevice = m.blockParameters() * d + (long) Math.ceil(variantsAtBlock * m.largestLinear()) * d
            + embedOrHead + (long) livePrefixes * stream + a;
        long streamedHost = teacherBytes + 2 * m.blockParameters() * 4;
        return new TaskMemory(a, residentDevice, residentHost, streamedDevice, streamedHost, teacherBytes);
    }

    /** The teacher's outputs a task keeps for the fitness over a pool of {@code tokens} calibration tokens. */
    public static long teacherBytes(ModelConfig c, String fitness, long tokens, int topK, int sequences) {
        long positions = tokens - sequences;
        return switch (fitness) {
            case "kl" -> positions * c.vocabSize() * 4;
            case "topk-kl" -> positions * Math.min(topK, c.vocabSize()) * 8L;
            default -> 0;
        };
    }
}
