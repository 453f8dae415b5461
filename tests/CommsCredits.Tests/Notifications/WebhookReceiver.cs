namespace CommsCredits.Tests.Notifications;

using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// A real HTTP receiver on a loopback port (Kestrel, HTTP/1.1) that records every POST it gets and answers with the
/// status the test chooses for that event id and attempt (1 for the first request carrying the id).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();
    private readonly ConcurrentDictionary<string, int> attempts = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app) => this.app = app;

    /// <summary>The status for (event id, attempt); 200 unless the test says otherwise.</summary>
    public Func<string, int, int> Status { get; set; } = (_, _) => 200;

    /// <summary>How long each answer waits first, so concurrent senders overlap.</summary>
    public int DelayMs { get; set; }

    public string Url { get; private set; } = string.Empty;

    /// <summary>Every request, in arrival order, whatever it was answered.</summary>
    public IReadOnlyList<ReceivedWebhook> Received => [.. received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var application = builder.Build();
        var receiver = new WebhookReceiver(application);
        application.Run(receiver.HandleAsync);
        await application.StartAsync();
        var address = application.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = address + "/hooks/commscredits?token=in-the-query";
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var eventId = context.Request.Headers["X-CommsCredits-Event-Id"].ToString();
        var attempt = attempts.AddOrUpdate(eventId, 1, (_, count) => count + 1);
        var status = Status(eventId, attempt);
        received.Enqueue(new ReceivedWebhook(
            context.Request.Method, context.Request.ContentType ?? string.Empty, body.ToArray(), eventId,
            context.Request.Headers["X-CommsCredits-Signature"].ToString(), status));
        if (DelayMs > 0)
        {
            await Task.Delay(DelayMs);
        }

        context.Response.StatusCode = status;
    }
}

public sealed record ReceivedWebhook(string Method, string ContentType, byte[] Body, string EventIdHeader, string Signature, int AnsweredStatus);
