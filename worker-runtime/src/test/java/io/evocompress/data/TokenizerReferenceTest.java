package io.evocompress.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** stories260K's tokenizer.json through {@link TextTokenizer}, against the ids stored with the model. */
class TokenizerReferenceTest {
    private static FileSystem fs;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() {
        Path dir = HadoopFiles.path(Fixtures.stories260k().toString());
        fs = HadoopFiles.fileSystem(dir, HadoopFiles.defaultConf());
        tokenizer = TextTokenizer.load(fs, dir);
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    private static List<String> sampleLines() {
        return TextDocuments.read(fs, HadoopFiles.path(Fixtures.text("tinystories_sample.txt").toString()));
    }

    @Test
    void sampleTextGivesTheReferenceTokenIds() throws IOException {
        JsonNode reference = new ObjectMapper().readTree(Fixtures.stories260k().resolve("reference.json").toFile());
        int[] expected = IntStream.range(0, reference.get("token_ids").size())
            .map(i -> reference.get("token_ids").get(i).asInt()).toArray();
        assertEquals(256, expected.length);
        assertArrayEquals(expected, ModelFixtures.referenceIds(), "reference.json and reference_logits.safetensors agree");

        List<String> lines = sampleLines();
        assertEquals(23, lines.size(), "non-empty lines of tinystories_sample.txt");
        int[] ids = TokenSequences.stream(tokenizer, lines, 1, 256);
        assertArrayEquals(expected, ids);
    }

    @Test
    void longTextIsNotTruncated() {
        String sentence = "Once upon a time.";
        int[] one = tokenizer.encode(sentence);
        assertArrayEquals(new int[] {403, 407, 261, 378, 426}, one);
        int[] many = tokenizer.encode(String.join(" ", Collections.nCopies(200, sentence)));
        assertEquals(200 * one.length, many.length, "a tokenizer truncating at 512 would stop there");
        for (int i = 0; i < many.length; i++) {
            assertEquals(one[i % one.length], many[i], "token " + i);
        }

        int[] whole = tokenizer.encode(String.join(" ", sampleLines()));
        assertEquals(1846, whole.length);
        assertEquals(1847, TokenSequences.stream(tokenizer, sampleLines(), 1, 0).length, "<s> + every line, no limit");
    }

    @Test
    void noSpecialTokensAreAdded() {
        assertEquals(0, tokenizer.encode("").length);
        int[] ids = tokenizer.encode("Ben");
        assertTrue(ids.length >= 1 && ids[0] != 1 && ids[ids.length - 1] != 2, java.util.Arrays.toString(ids));
        assertEquals(512, tokenizer.vocabularySize());
    }

    @Test
    void tokenizerLargerThanTheModelVocabularyIsRejected() {
        ModelConfig baby;
        try (CheckpointReader reader = CheckpointReader.open(Fixtures.babyllama105().toString())) {
            baby = ModelLoader.config(reader);
        }
        assertEquals(105, baby.vocabSize());
        String where = Fixtures.babyllama105().toString();
        EvocompressException e = assertThrows(EvocompressException.class, () -> tokenizer.checkFits(baby, where));
        String m = e.getMessage();
        assertTrue(m.contains(Fixtures.stories260k().resolve("tokenizer.json").toString()), m);
        assertTrue(m.contains("vocabulary of 512 tokens"), m);
        assertTrue(m.contains("vocab_size 105"), m);
        assertTrue(m.contains(where), m);

        // Its own tokenizer fits: 105 ids, the same as the model.
        Path babyDir = HadoopFiles.path(where);
        try (TextTokenizer own = TextTokenizer.load(fs, babyDir)) {
            assertEquals(105, own.vocabularySize());
            own.checkFits(baby, where);
        }
    }
}
