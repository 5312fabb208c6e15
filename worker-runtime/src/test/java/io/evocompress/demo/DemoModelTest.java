package io.evocompress.demo;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import io.evocompress.train.EngineThreads;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo model learns the generated language: held-out perplexity far below the baselines. */
class DemoModelTest {
    @TempDir
    java.nio.file.Path tmp;

    @Test
    void shortTrainingBeatsUnigramBaselineAndWritesALoadableCheckpoint() {
        // a smaller shape than the default so the test takes seconds; the recipe is the same
        DemoModel.Settings small = new DemoModel.Settings(64, 2, 4, 176, 128, 128, 4, 3e-3, 20, 3000, 200);
        Path out = HadoopFiles.path(tmp.resolve("demo").toString());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        List<String> lines = new ArrayList<>();
        DemoModel.Result r;
        EngineThreads one = EngineThreads.single();
        try (one) {
            r = DemoModel.build(fs, out, small, 5, 150, null, false, step -> { }, lines::add);
        }
        lines.forEach(System.out::println);
        assertEquals(150, r.training().steps());
        // untrained: close to uniform; trained: well below the unigram model of the same text
        assertTrue(r.heldoutPerplexityBefore() > 0.7 * r.uniformPerplexity(), "before " + r.heldoutPerplexityBefore());
        assertTrue(r.unigramPerplexity() < 0.7 * r.uniformPerplexity(), "unigram " + r.unigramPerplexity());
        assertTrue(r.heldoutPerplexityAfter() < 0.5 * r.unigramPerplexity(),
            "after " + r.heldoutPerplexityAfter() + " vs unigram " + r.unigramPerplexity());

        // the output is a checkpoint eval loads, with its tokenizer and text, scoring the same perplexity
        try (CheckpointReader reader = CheckpointReader.open(out, HadoopFiles.defaultConf());
             CausalLm model = ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32);
             TextTokenizer tokenizer = TextTokenizer.load(fs, out)) {
            tokenizer.checkFits(model.config(), out.toString());
            List<String> heldout = TextDocuments.read(fs, new Path(out, DemoModel.HELDOUT_TEXT));
            assertEquals(200, heldout.size());
            assertEquals(3000, TextDocuments.read(fs, new Path(out, DemoModel.TRAIN_TEXT)).size());
            int[] stream = TokenSequences.stream(tokenizer, heldout, model.config().bosTokenId(), 0);
            double ppl = DemoModel.perplexity(model, TokenSequences.chunks(stream, 128));
            assertEquals(r.heldoutPerplexityAfter(), ppl, 1e-3 * ppl);
        }
    }
}
