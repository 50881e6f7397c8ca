package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.SesException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** PageSize as SES reads it: a whole number from 1 to 1000, in the query string or the JSON body. */
class PagingTest {
  @Test
  void aPageSizeIsAWholeNumberWithinItsRange() {
    assertEquals(25, Paging.pageSize(null, null, 25));
    assertEquals(7, Paging.pageSize("7", null, 25));
    assertEquals(1000, Paging.pageSize(null, new JsonObject().put("PageSize", 1000), 25));
    assertEquals(3, Paging.pageSize(null, new JsonObject().put("PageSize", 3.0), 25));
    // not wrapped into range (2^32 + 1 would be 1 as an int), not cut down (10.7 would be 10)
    for (Object bad : new Object[] {4_294_967_297L, 10.7, 0, 1001, "12", -1}) {
      assertThrows(SesException.class, () -> Paging.pageSize(null, new JsonObject().put("PageSize", bad), 25),
          String.valueOf(bad));
    }
    for (String bad : new String[] {"4294967297", "10.7", "0", "x"}) {
      assertThrows(SesException.class, () -> Paging.pageSize(bad, null, 25), bad);
    }
  }
}
