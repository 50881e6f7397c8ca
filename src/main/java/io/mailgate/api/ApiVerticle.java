package io.mailgate.api;

import io.mailgate.EventBusAddresses;
import io.mailgate.api.sesv2.SendEmailHandler;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.send.SendService;
import io.mailgate.store.Database;
import io.mailgate.store.MessageQuery;
import io.mailgate.store.MessageStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.sqlclient.Pool;
import java.time.Clock;

/**
 * The HTTP side of a node: SES v2 REST, and Mailgate's own {@code /_mailgate} endpoints. One
 * instance per event loop, each with its own database pool and send service.
 */
public final class ApiVerticle extends VerticleBase {
  private final MailgateConfig config;
  private final String nodeId;
  private final Clock clock;
  private final boolean dev;
  private Pool db;
  private HttpServer server;

  public ApiVerticle(MailgateConfig config, String nodeId, Clock clock, boolean dev) {
    this.config = config;
    this.nodeId = nodeId;
    this.clock = clock;
    this.dev = dev;
  }

  @Override
  public Future<?> start() {
    int poolSize = config.get(MailgateConfig.PG_POOL_SIZE);
    db = Database.pool(vertx, config, poolSize);
    MessageStore store = new MessageStore(db, nodeId, config.get(MailgateConfig.DELIVERY_LEASE_SECONDS), poolSize);
    SendService sends = new SendService(vertx, config, store, clock);
    RequestAuthenticator auth = new RequestAuthenticator(new AccountDirectory(db, clock));
    SendEmailHandler sendEmail = new SendEmailHandler(auth, sends);
    MessageStatusHandler status = new MessageStatusHandler(auth, new MessageQuery(db), config.get(MailgateConfig.REGION));

    Router router = Router.router(vertx);
    // base64 makes a message 4/3 larger in JSON; leave room for the rest of the request
    long bodyLimit = (long) sends.maxMessageBytes() * 4 / 3 + 1024 * 1024;
    BodyHandler body = BodyHandler.create(false).setBodyLimit(bodyLimit);
    router.post("/v2/email/outbound-emails").handler(body).handler(sendEmail::handle);
    router.get("/_mailgate/messages/:messageId").handler(status::handle);
    router.get("/_mailgate/health").handler(ctx -> ctx.json(new JsonObject().put("status", "UP").put("node", nodeId)));
    if (dev) {
      router.get("/_mailgate/captured").handler(this::captured);
      router.delete("/_mailgate/captured").handler(this::captured);
    }
    router.route().handler(ctx -> ctx.fail(404));
    router.route().failureHandler(ctx -> SesErrors.failV2(ctx, ctx.failure()));

    server = vertx.createHttpServer(new HttpServerOptions()
        .setHost(config.get(MailgateConfig.HTTP_HOST))
        .setPort(config.get(MailgateConfig.HTTP_PORT))
        .setTcpNoDelay(true)
        .setCompressionSupported(false));
    return server.requestHandler(router).listen();
  }

  @Override
  public Future<?> stop() {
    return server.close().eventually(() -> db.close());
  }

  /** start-dev: the capture sink's messages (GET, newest first) or clearing them (DELETE). */
  private void captured(RoutingContext ctx) {
    JsonObject query = new JsonObject().put("clear", ctx.request().method().name().equals("DELETE"));
    String limit = ctx.request().getParam("limit");
    if (limit != null) {
      try {
        query.put("limit", Integer.parseInt(limit));
      } catch (NumberFormatException e) {
        ctx.fail(io.mailgate.SesException.badRequest("limit must be a number."));
        return;
      }
    }
    vertx.eventBus().<JsonArray>request(EventBusAddresses.DEV_CAPTURED, query)
        .onSuccess(reply -> ctx.response().putHeader("content-type", "application/json").end(reply.body().encode()))
        .onFailure(ctx::fail);
  }
}
