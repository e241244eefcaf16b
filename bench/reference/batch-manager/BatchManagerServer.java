// The reference users would pick instead of the service: AWS SDK for Java v2's SqsAsyncBatchManager
// behind a Netty HTTP server (Netty comes with the SDK's async HTTP client; the JDK's own HttpServer
// delays keep-alive connections by up to a second under load, which would measure the JDK, not AWS). Same route, same JSON Schema (the service's TypeBox schema,
// written out by the bench), 202 once the message is handed to the batch manager, which sends every
// 10 ms (its default is 200 ms) or when 10 are waiting. It acknowledges before sending and does not
// retry a failed entry: /metrics counts accepted, sent and failed, so the bench can tell what was lost.
// Environment: PORT, HOST, SQS_QUEUE_URL, SQS_ENDPOINT, AWS_REGION, INVOICE_SCHEMA_FILE.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsAsyncClient;
import software.amazon.awssdk.services.sqs.batchmanager.BatchOverrideConfiguration;
import software.amazon.awssdk.services.sqs.batchmanager.SqsAsyncBatchManager;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

public final class BatchManagerServer {
  private static final AtomicLong accepted = new AtomicLong();
  private static final AtomicLong sent = new AtomicLong();
  private static final AtomicLong failed = new AtomicLong();
  private static final AtomicLong calls = new AtomicLong();
  private static final AtomicLong rejected = new AtomicLong();
  private static final ObjectMapper json = new ObjectMapper();

  public static void main(String[] args) throws IOException {
    String host = env("HOST", "127.0.0.1");
    int port = Integer.parseInt(env("PORT", "3000"));
    String queueUrl = env("SQS_QUEUE_URL", "");
    JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7);
    SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
    JsonSchema schema =
        factory.getSchema(json.readTree(Files.readString(Path.of(env("INVOICE_SCHEMA_FILE", "invoice.schema.json")))), config);

    SqsAsyncClient client =
        SqsAsyncClient.builder()
            .region(Region.of(env("AWS_REGION", "us-east-1")))
            .endpointOverride(URI.create(env("SQS_ENDPOINT", "http://127.0.0.1:4566")))
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(env("AWS_ACCESS_KEY_ID", "test"), env("AWS_SECRET_ACCESS_KEY", "test"))))
            .httpClientBuilder(NettyNioAsyncHttpClient.builder().maxConcurrency(64))
            .overrideConfiguration(
                c ->
                    c.addExecutionInterceptor(
                        new ExecutionInterceptor() {
                          @Override
                          public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                            if (context.request() instanceof SendMessageBatchRequest) calls.incrementAndGet();
                          }
                        }))
            .build();
    SqsAsyncBatchManager batches =
        SqsAsyncBatchManager.builder()
            .client(client)
            .scheduledExecutor(Executors.newScheduledThreadPool(2))
            .overrideConfiguration(
                BatchOverrideConfiguration.builder().sendRequestFrequency(Duration.ofMillis(10)).maxBatchSize(10).build())
            .build();

    NioEventLoopGroup boss = new NioEventLoopGroup(1);
    NioEventLoopGroup workers = new NioEventLoopGroup(2);
    new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel channel) {
                channel
                    .pipeline()
                    .addLast(new HttpServerCodec())
                    .addLast(new HttpObjectAggregator(262144))
                    .addLast(
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                            String path = request.uri();
                            if (path.equals("/livez")) {
                              answer(ctx, request, 200, "{\"status\":\"ok\"}");
                            } else if (path.equals("/metrics")) {
                              answer(ctx, request, 200, metrics());
                            } else if (!path.equals("/webhooks/invoice")) {
                              answer(ctx, request, 404, "{\"error\":\"not_found\"}");
                            } else if (!HttpMethod.POST.equals(request.method())) {
                              answer(ctx, request, 405, "{\"error\":\"method_not_allowed\"}");
                            } else {
                              String body = request.content().toString(StandardCharsets.UTF_8);
                              Answer answer = intake(body, schema, batches, queueUrl);
                              answer(ctx, request, answer.status(), answer.body());
                            }
                          }
                        });
              }
            })
        .bind(host, port)
        .syncUninterruptibly();
    System.err.println("batch-manager reference listening on " + host + ":" + port);
  }

  /** Status and body of the answer to one POST: 202 once handed to the batch manager. */
  private static Answer intake(String body, JsonSchema schema, SqsAsyncBatchManager batches, String queueUrl) {
    JsonNode invoice;
    try {
      invoice = json.readTree(body);
    } catch (IOException e) {
      rejected.incrementAndGet();
      return new Answer(400, "{\"error\":\"malformed_json\"}");
    }
    if (invoice == null || !invoice.isObject() || !schema.validate(invoice).isEmpty()) {
      rejected.incrementAndGet();
      return new Answer(422, "{\"error\":\"invalid_invoice\"}");
    }
    String id = invoice.get("id").asText();
    accepted.incrementAndGet();
    batches
        .sendMessage(
            SendMessageRequest.builder()
                .queueUrl(queueUrl)
                .messageBody(body)
                .messageAttributes(
                    Map.of("invoice-id", string(id), "request-id", string(UUID.randomUUID().toString())))
                .build())
        .whenComplete(
            (response, error) -> {
              if (error == null) sent.incrementAndGet();
              else failed.incrementAndGet();
            });
    try {
      return new Answer(202, "{\"id\":" + json.writeValueAsString(id) + ",\"status\":\"accepted\"}");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static MessageAttributeValue string(String value) {
    return MessageAttributeValue.builder().dataType("String").stringValue(value).build();
  }

  private static String metrics() {
    long pending = accepted.get() - sent.get() - failed.get();
    return "webhook_invoices_accepted_total "
        + accepted.get()
        + "\nwebhook_invoices_rejected_total "
        + rejected.get()
        + "\nwebhook_buffer_depth "
        + pending
        + "\nsqs_calls_total "
        + calls.get()
        + "\nsqs_batches_sent_total "
        + calls.get()
        + "\nsqs_messages_sent_total "
        + sent.get()
        + "\nsqs_messages_failed_total "
        + failed.get()
        + "\n";
  }

  private record Answer(int status, String body) {}

  private static void answer(ChannelHandlerContext ctx, FullHttpRequest request, int status, String body) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(status),
            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, body.startsWith("webhook") ? "text/plain" : "application/json");
    HttpUtil.setContentLength(response, response.content().readableBytes());
    HttpUtil.setKeepAlive(response, HttpUtil.isKeepAlive(request));
    ctx.writeAndFlush(response);
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }
}
