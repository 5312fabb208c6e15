package io.evocompress.data;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Documents from plain text and JSON Lines files, and the errors for bad data files. */
class TextDocumentsTest {
    @TempDir
    java.nio.file.Path tmp;

    private static List<String> read(java.nio.file.Path file) {
        Path p = HadoopFiles.path(file.toString());
        FileSystem fs = HadoopFiles.fileSystem(p, HadoopFiles.defaultConf());
        return TextDocuments.read(fs, p);
    }

    private static String failure(java.nio.file.Path file) {
        return assertThrows(EvocompressException.class, () -> read(file)).getMessage();
    }

    @Test
    void c4JsonLinesHolds200Documents() {
        List<String> docs = read(Fixtures.text("c4_sample.jsonl"));
        assertEquals(200, docs.size());
        assertTrue(docs.stream().noneMatch(String::isBlank));
        assertTrue(docs.get(0).length() > 20, docs.get(0));
    }

    @Test
    void plainTextSkipsBlankLinesAndKeepsTheRest() throws IOException {
        java.nio.file.Path file = tmp.resolve("docs.txt");
        Files.writeString(file, "first line\n\n   \nsecond line\r\nthird");
        assertEquals(List.of("first line", "second line", "third"), read(file));
    }

    @Test
    void emptyFileIsAnErrorNamingIt() throws IOException {
        java.nio.file.Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        String m = failure(empty);
        assertTrue(m.contains(empty.toString()) && m.contains("holds no text"), m);

        java.nio.file.Path blank = Files.writeString(tmp.resolve("blank.jsonl"), "\n  \n\n");
        m = failure(blank);
        assertTrue(m.contains(blank.toString()) && m.contains("empty or only blank lines"), m);
    }

    @Test
    void missingFileIsAnErrorNamingIt() {
        java.nio.file.Path missing = tmp.resolve("nope.txt");
        String m = failure(missing);
        assertTrue(m.contains(missing.toString()) && m.contains("does not exist"), m);
    }

    @Test
    void jsonLineWithoutTextNamesItsLineNumber() throws IOException {
        java.nio.file.Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, "{\"text\": \"fine\"}\n\n{\"content\": \"no text field\"}\n{\"text\": \"never read\"}\n");
        String m = failure(file);
        assertTrue(m.contains(file + " line 3 has no string field 'text'"), m);

        Files.writeString(file, "{\"text\": \"fine\"}\n{\"text\": 42}\n");
        m = failure(file);
        assertTrue(m.contains(file + " line 2 has no string field 'text'"), m);

        Files.writeString(file, "{\"text\": \"fine\"}\n{\"text\": \"unterminated\n");
        m = failure(file);
        assertTrue(m.contains(file + " line 2 is not valid JSON"), m);
    }
}
