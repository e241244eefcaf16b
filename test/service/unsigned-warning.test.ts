import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLoopback, unsignedExposureWarning } from '../../src/service/index.js';

describe('the start-up warning for unsigned intake on a reachable address', () => {
  test('loopback: 127.0.0.0/8, ::1 (also written out or IPv4-mapped), localhost; nothing else', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '127.255.255.254',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
      'api.localhost',
    ]) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.5',
      '192.168.1.10',
      '128.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      'invoices.example.com',
      'localhost.example.com',
      '1127.0.0.1',
    ]) {
      assert.equal(isLoopback(host), false, host);
    }
  });

  test('warns when WEBHOOK_SECRETS is empty and HOST is not loopback, naming the address and what to set', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
      const warning = unsignedExposureWarning({ webhookSecrets: '', host, port: 3000 });
      assert.ok(warning, host);
      assert.equal(warning.host, host);
      assert.equal(warning.port, 3000);
      assert.match(warning.message, /signatures are off \(WEBHOOK_SECRETS is empty\)/);
      assert.match(warning.message, new RegExp(`listens on ${host.replace(/\./g, '\\.')}, not a loopback address`));
      assert.match(warning.message, /Set WEBHOOK_SECRETS/);
    }
    // Only commas and blanks configure no secret: signatures stay off, exactly as the intake sees it.
    assert.ok(unsignedExposureWarning({ webhookSecrets: ' , ', host: '0.0.0.0', port: 3000 }));
  });

  test('silent on a loopback address, and silent whenever a secret is set', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      assert.equal(unsignedExposureWarning({ webhookSecrets: '', host, port: 3000 }), undefined, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
      assert.equal(unsignedExposureWarning({ webhookSecrets: 's3cret', host, port: 3000 }), undefined, host);
    }
  });
});
