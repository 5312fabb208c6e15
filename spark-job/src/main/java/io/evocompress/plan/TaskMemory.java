package io.evocompress.plan;

import io.evocompress.model.ModelConfig;

/**
 * Peak memory of one candidate-evaluation task, in bytes, for a forward over {@code batch} sequences
 * of {@code seqLen} tokens in a compute dtype of {@code d} bytes:
 * <ul>
 *   <li>activations A of one batch ({@code fitness.CandidatesAtOnce#batchActivations}): the block's input
 *       and output (2 B T H d), plus the larger of one block's temporaries, which all live until the block ends (4 B heads T^2 d for the attention
 *       scores, 9 of q's and of k/v's size, 12 of the hidden size, the MLP's of the intermediate size), and
 *       the head's (the logits in d and in float32, the teacher's slice, the metric's log-softmax and KL
 *       terms: B T V (d + 24));</li>
 *   <li>resident (today's path): the candidate model whole (every parameter, d each, its replaced linear
 *       layers holding variants), the dense weights of the layers it replaced (at most all of them), the
 *       task's variant cache (the variants, at most {@code EvaluationSetup.DEFAULT_VARIANT_CACHE_BYTES}),
 *       plus A;</li>
 *   <li>streamed (the block-streamed design): one block's dense weights, the variants the stage's
 *       candidates use at the busiest block ({@link PrefixSharing#variantsAtBlock} layers of the largest
 *       size), the embedding or head (the larger), the hidden states of every live prefix on the whole
 *       minibatch ({@code liveTokens} x H x d: for a search, the most over its stages of the stage's
 *       candidates plus one, times the stage's tokens), plus one call's temporaries: A, or where one
 *       batch's block temporaries are small, as many of them as {@code fitness.CandidatesAtOnce#width} concatenates
 *       into one call, at most the live prefixes' batches ({@code liveTokens / (B T)}) (a task whose device
 *       holds less runs fewer candidates at once: {@code fitness.CandidatesAtOnce});</li>
 *   <li>host: the teacher's outputs (pool tokens x V x 4 bytes for kl, x K x 8 for topk-kl; none for
 *       ppl), plus the largest tensor read in float32 and converted (resident), or one block read in
 *       float32 and converted (streamed).</li>
 * </ul>
 */
public record TaskMemory(long activations, long residentDevice, long residentHost, long streamedDevice, long streamedHost,
                         long teacherHost) {

    public static TaskMemory of(ModelFootprint m, int d, int batch, int seqLen, long teacherBytes, double variantsAtBlock,
                                long liveTokens) {
        ModelConfig c = m.config();
        long bt = (long) batch * seqLen;
        long a = io.evocompress.fitness.CandidatesAtOnce.batchActivations(c, batch, seqLen, d);
        long linears = m.blockLinear() * m.blocks();
        long residentDevice = m.parameters() * d + linears * d
            + Math.min(linears * d, io.evocompress.fitness.EvaluationSetup.DEFAULT_VARIANT_CACHE_BYTES) + a;
        long residentHost = teacherBytes + 2 * m.largestTensor() * 4;
        long embedOrHead = (long) c.vocabSize() * c.embedDim() * d;
        long streamedDevice = m.blockParameters() * d + (long) Math.ceil(variantsAtBlock * m.largestLinear()) * d
            + embedOrHead + liveTokens * c.hiddenSize() * d
            + io.evocompress.fitness.CandidatesAtOnce.taskActivations(c, batch, seqLen, d, (liveTokens + bt - 1) / bt);
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
