package io.evocompress.demo;

import io.evocompress.data.TextTokenizer;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratedLanguageTest {
    @TempDir
    java.nio.file.Path tmp;

    @Test
    void seededAndDistinctStreams() {
        GeneratedLanguage a = new GeneratedLanguage(1);
        assertEquals(a.vocabulary(), new GeneratedLanguage(1).vocabulary());
        assertEquals(a.documents(20, 3), new GeneratedLanguage(1).documents(20, 3));
        assertNotEquals(a.documents(20, 3), a.documents(20, 4));
        assertNotEquals(a.vocabulary(), new GeneratedLanguage(2).vocabulary());
        Set<String> vocab = new HashSet<>(a.vocabulary());
        assertEquals(vocab.size(), a.vocabulary().size(), "no word listed twice");
        for (String doc : a.documents(200, 9)) {
            for (String w : doc.split(" ")) {
                assertTrue(vocab.contains(w), "word outside the vocabulary: " + w);
            }
        }
    }

    @Test
    void agreementHolds() {
        // a plural determiner is followed (after an optional adjective) by a noun ending in s
        GeneratedLanguage lang = new GeneratedLanguage(1);
        for (String doc : lang.documents(100, 2)) {
            String[] w = doc.split(" ");
            for (int i = 0; i + 2 < w.length; i++) {
                if (List.of("some", "many", "these", "two").contains(w[i])) {
                    String noun = w[i + 1].endsWith("s") ? w[i + 1] : w[i + 2];
                    assertTrue(noun.endsWith("s"), "plural agreement broken in: " + doc);
                }
            }
        }
    }

    @Test
    void tokenizerRoundTripsGeneratedText() throws Exception {
        GeneratedLanguage lang = new GeneratedLanguage(11);
        Path dir = HadoopFiles.path(tmp.toString());
        FileSystem fs = HadoopFiles.fileSystem(dir, HadoopFiles.defaultConf());
        try (FSDataOutputStream o = fs.create(new Path(dir, TextTokenizer.FILE), true)) {
            o.write(WordLevelTokenizer.tokenizerJson(lang.vocabulary()).getBytes(StandardCharsets.UTF_8));
        }
        try (TextTokenizer tok = TextTokenizer.load(fs, dir)) {
            assertEquals(WordLevelTokenizer.size(lang.vocabulary()), tok.vocabularySize());
            for (String doc : lang.documents(50, 12)) {
                int[] ids = tok.encode(doc);
                assertEquals(doc.split(" ").length, ids.length, "one token per word: " + doc);
                for (int id : ids) {
                    assertTrue(id >= 3, "no <unk> or specials in generated text: " + doc);
                }
                assertEquals(doc, tok.decode(ids));
            }
            // the first word of the list gets id 3 (after <unk>, <s>, </s>); unknown words map to <unk>
            assertEquals(3, tok.encode(lang.vocabulary().get(0))[0]);
            assertEquals(0, tok.encode("xyzzyq")[0]);
        }
    }
}
