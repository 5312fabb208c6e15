package io.evocompress.evopress;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code search.candidates-per-task: auto} (the default): streamed, a generation's candidates (offspring and
 * parent) spread over the task slots, one task per slot; resident, one per task; a configured count as given.
 */
class CandidatesPerTaskTest {
    @Test
    void autoGivesEachSlotOneTaskOfAGenerationWhenStreamed() {
        assertEquals(17, SearchJob.candidatesPerTask(0, true, 16, 1), "local[1]: the whole generation in one task");
        assertEquals(9, SearchJob.candidatesPerTask(0, true, 16, 2), "two slots: 9 + 8");
        assertEquals(3, SearchJob.candidatesPerTask(0, true, 16, 8));
        assertEquals(1, SearchJob.candidatesPerTask(0, true, 16, 64), "more slots than candidates: one each");
        assertEquals(1, SearchJob.candidatesPerTask(0, false, 16, 1), "resident: one at a time, one per task");
        assertEquals(4, SearchJob.candidatesPerTask(4, true, 16, 1), "configured");
        assertEquals(4, SearchJob.candidatesPerTask(4, false, 16, 1), "configured");
    }
}
