package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code calibration.data} and {@code heldout.data} as {@code .safetensors} files of {@code token_ids}: the
 * same tokens as text and as token ids give the same search, and a {@code synth-model} checkpoint (which has
 * no tokenizer) can be searched.
 */
class SearchTokenIdsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    /** The text's token stream as eval and search build it (one {@code <s>}, then every document's tokens), as a token_ids file. */
    static Path idsOf(String text, Path file) {
        Path dir = Fixtures.stories260k();
        Path data = Fixtures.text(text);
        var fs = HadoopFiles.fileSystem(HadoopFiles.path(data.toString()), HadoopFiles.defaultConf());
        int[] stream;
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString());
             TextTokenizer tokenizer = TextTokenizer.load(ckpt.fileSystem(), ckpt.dir())) {
            stream = TokenSequences.stream(tokenizer, TextDocuments.read(fs, HadoopFiles.path(data.toString())),
                ModelLoader.config(ckpt).bosTokenId(), 0);
        }
        return BadFiles.tokenIds(file, new long[] {stream.length}, Arrays.stream(stream).asLongStream().toArray());
    }

    static List<String> search(String model, String calibration, String heldout, String output) {
        return new ArrayList<>(List.of("search", "--config", SearchCommandTest.conf("evopress-sparsity-70.yaml").toString(),
            "--set", "model=" + model, "--set", "output=" + tmp.resolve(output),
            "--set", "database.path=" + tmp.resolve(output + "-db"), "--set", "database.max-level=2",
            "--set", "calibration.data=" + calibration, "--set", "calibration.sequences=16",
            "--set", "calibration.seq-len=128", "--set", "calibration.shards=2",
            "--set", "heldout.data=" + heldout, "--set", "heldout.seq-len=128", "--set", "heldout.max-tokens=2048",
            "--set", "final.tokens=2048", "--set", "search.stages=1@512,1@2048", "--set", "search.offspring=8",
            "--set", "search.generations=4", "--set", "baselines=[uniform]", "--json"));
    }

    static JsonNode run(List<String> argv, String output) throws Exception {
        MainTest.Run r = MainTest.run(argv.toArray(new String[0]));
        assertEquals(0, r.status(), r.err());
        return JSON.readTree(tmp.resolve(output).resolve("result.json").toFile());
    }

    @Test
    void tokenIdFilesGiveTheSearchTheTextGives() throws Exception {
        String model = Fixtures.stories260k().toString();
        JsonNode text = run(search(model, Fixtures.text("tinystories_train_head.txt").toString(),
            Fixtures.text("tinystories_sample.txt").toString(), "text"), "text");
        Path calib = idsOf("tinystories_train_head.txt", tmp.resolve("calib.safetensors"));
        Path held = idsOf("tinystories_sample.txt", tmp.resolve("held.safetensors"));
        JsonNode ids = run(search(model, calib.toString(), held.toString(), "ids"), "ids");
        assertEquals(text.get("result").get("profile"), ids.get("result").get("profile"));
        assertEquals(text.get("result").get("kl_divergence").asDouble(), ids.get("result").get("kl_divergence").asDouble(), 0);
        assertEquals(text.get("result").get("perplexity").asDouble(), ids.get("result").get("perplexity").asDouble(), 0);
        assertEquals(text.get("dense").get("perplexity").asDouble(), ids.get("dense").get("perplexity").asDouble(), 0);
    }

    @Test
    void aSynthModelCheckpointCanBeSearchedOnTokenIds() throws Exception {
        Path synth = tmp.resolve("synth-model");
        MainTest.Run w = MainTest.run("synth-model", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "4",
            "--intermediate", "128", "--vocab", "512", "--context", "256", "--out", synth.toString());
        assertEquals(0, w.status(), w.err());
        Path calib = idsOf("tinystories_train_head.txt", tmp.resolve("synth-calib.safetensors"));
        Path held = idsOf("tinystories_sample.txt", tmp.resolve("synth-held.safetensors"));
        JsonNode r = run(search(synth.toString(), calib.toString(), held.toString(), "synth"), "synth");
        double kl = r.get("result").get("kl_divergence").asDouble();
        assertTrue(kl > 0 && kl <= r.get("baselines").get("uniform").get("kl_divergence").asDouble(),
            "the search's KL " + kl + " is at most uniform's: " + r.get("baselines"));
        // a random model predicts about uniformly over its 512 tokens
        double dense = r.get("dense").get("perplexity").asDouble();
        assertTrue(dense > 300 && dense < 800, "dense perplexity " + dense);
        // text needs a tokenizer, which a synth-model checkpoint has not: the error says so
        MainTest.Run textRun = MainTest.run(search(synth.toString(), Fixtures.text("tinystories_train_head.txt").toString(),
            held.toString(), "synth-text").toArray(new String[0]));
        assertEquals(1, textRun.status(), textRun.err());
        assertTrue(textRun.err().contains("tokenizer"), textRun.err());
    }
}
