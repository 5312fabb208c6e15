package io.evocompress.metrics;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.StreamedLm;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block-streamed scorer against the resident one on every family's fixture and real text: the same
 * NLL and KL sums bit for bit, whatever the waves (one batch each, or all at once) and the host cache
 * (none, or the whole model).
 */
class StreamedScorerTest {
    private static final Configuration CONF = HadoopFiles.defaultConf();

    /** Real text through the fixture's tokenizer: 128-token sequences and a shorter tail (two lengths, a partial batch). */
    static List<int[]> sequences(java.nio.file.Path model, int tokens) {
        Path text = HadoopFiles.path(Fixtures.root().resolve("text/tinystories_sample.txt").toString());
        FileSystem fs = HadoopFiles.fileSystem(text, CONF);
        try (CheckpointReader ckpt = CheckpointReader.open(model.toString());
             TextTokenizer tokenizer = TextTokenizer.load(ckpt.fileSystem(), ckpt.dir())) {
            ModelConfig config = ModelLoader.config(ckpt);
            int[] stream = TokenSequences.stream(tokenizer, TextDocuments.read(fs, text), config.bosTokenId(), tokens);
            return TokenSequences.chunks(stream, 128);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "babyllama105", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void streamedPerplexityIsTheResidentOneBitForBit(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        List<int[]> seqs = sequences(dir, 1000);
        assertTrue(seqs.size() >= 5 && seqs.get(seqs.size() - 1).length < 128, "two lengths: " + seqs.size());
        SequenceScores resident;
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString());
             CausalLm lm = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32)) {
            resident = new ModelScorer(lm, null, 3).score(seqs, null);
        }
        HostWeightCache none = new HostWeightCache(0);
        HostWeightCache all = new HostWeightCache(1L << 30);
        for (long activations : new long[] {1, StreamedScorer.DEFAULT_ACTIVATION_BYTES}) {
            for (HostWeightCache cache : List.of(none, all)) {
                try (StreamedLm lm = StreamedLm.open(dir.toString(), CONF, Device.cpu(), DataType.FLOAT32, cache)) {
                    SequenceScores streamed = new StreamedScorer(lm, null, 3, activations).score(seqs, null);
                    assertEquals(resident.nllTokens(), streamed.nllTokens());
                    assertEquals(Double.doubleToLongBits(resident.nllSum()), Double.doubleToLongBits(streamed.nllSum()),
                        fixture + ": streamed NLL sum " + streamed.nllSum() + " vs resident " + resident.nllSum()
                            + " (waves of " + activations + " bytes, cache " + cache.budget() + ")");
                }
            }
        }
        assertEquals(0, none.bytes());
        // one-batch waves read every tensor once per wave: with room for the model all but the first are hits
        assertTrue(all.hits() > all.misses(), "hits " + all.hits() + ", misses " + all.misses());
    }

    @Test
    void streamedKlAgainstAReferenceIsTheResidentOneBitForBit(@TempDir java.nio.file.Path tmp) {
        java.nio.file.Path dense = Fixtures.stories260k();
        // the model: the fixture with block 2's weights scaled by 0.9 (a KL clearly above 0)
        Path changed = HadoopFiles.path(tmp.resolve("scaled").toString());
        try (CheckpointReader ckpt = CheckpointReader.open(dense.toString())) {
            List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
            for (CheckpointWriter.Tensor t : ModelFixtures.tensors(ckpt)) {
                boolean scale = t.name().contains("layers.2.") && t.shape().length == 2;
                tensors.add(new CheckpointWriter.Tensor(t.name(), t.shape(), () -> {
                    float[] v = t.data().get();
                    if (scale) {
                        for (int i = 0; i < v.length; i++) {
                            v[i] *= 0.9f;
                        }
                    }
                    return v;
                }));
            }
            new CheckpointWriter(DType.F32, 1, false).write(HadoopFiles.fileSystem(changed, CONF), changed,
                ckpt.configJson(), tensors, null, null);
        }
        List<int[]> seqs = sequences(dense, 1000);
        SequenceScores resident;
        try (CheckpointReader a = CheckpointReader.open(changed.toString());
             CheckpointReader b = CheckpointReader.open(dense.toString());
             CausalLm model = ModelLoader.load(a, Device.cpu(), DataType.FLOAT32);
             CausalLm reference = ModelLoader.load(b, Device.cpu(), DataType.FLOAT32)) {
            resident = new ModelScorer(model, reference, 4).score(seqs, null);
        }
        assertTrue(resident.klDivergence() > 1e-3, "KL " + resident.klDivergence());
        HostWeightCache cache = new HostWeightCache(1L << 20);
        try (StreamedLm model = StreamedLm.open(changed.toString(), CONF, Device.cpu(), DataType.FLOAT32, cache);
             StreamedLm reference = StreamedLm.open(dense.toString(), CONF, Device.cpu(), DataType.FLOAT32, cache)) {
            SequenceScores streamed = new StreamedScorer(model, reference, 4, 1).score(seqs, null);
            assertEquals(Double.doubleToLongBits(resident.nllSum()), Double.doubleToLongBits(streamed.nllSum()));
            assertEquals(Double.doubleToLongBits(resident.klSum()), Double.doubleToLongBits(streamed.klSum()),
                "streamed KL sum " + streamed.klSum() + " vs resident " + resident.klSum());
            assertEquals(resident.klTokens(), streamed.klTokens());
        }
        assertTrue(cache.peakBytes() <= 1L << 20, "the cache stays within its budget: " + cache.peakBytes());
    }
}
