import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { ProgressBar } from '../components/ProgressBar';
import { sampleRender } from '../pages/Campaigns';
import { importPercent } from '../pages/Contacts';
import { validationChecks } from '../pages/Hotels';
import { reportRows } from '../pages/Privacy';
import { platformPercent } from '../pages/Syncs';

describe('ErrorBox', () => {
  it('shows the message, the field and the stable code', () => {
    render(<ErrorBox error={new ApiError(400, 'validation_failed', 'unknown scope "x"', 'scopes')} />);
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('unknown scope "x"');
    expect(alert.textContent).toContain('field scopes');
    expect(alert.textContent).toContain('400 validation_failed');
  });
});

describe('ProgressBar', () => {
  it('clamps and exposes its value', () => {
    render(<ProgressBar label="lemlist" value={133} />);
    const bar = screen.getByRole('progressbar', { name: 'lemlist' });
    expect(bar.getAttribute('aria-valuenow')).toBe('100');
    expect(bar.textContent).toContain('100 %');
  });
});

describe('page helpers', () => {
  it('computes a platform bar from campaigns done', () => {
    expect(platformPercent({ campaignsTotal: 3, campaignsDone: 1 }, 'running')).toBeCloseTo(33.33, 1);
    expect(platformPercent({ campaignsTotal: 0 }, 'running')).toBe(0);
    expect(platformPercent({ campaignsTotal: 3, campaignsDone: 2 }, 'completed')).toBe(100);
  });

  it('computes an import bar from rows read', () => {
    expect(importPercent({ jobId: 'j', status: 'running', error: null, progress: { rows: 200, rowsRead: 50 } })).toBe(25);
    expect(importPercent({ jobId: 'j', status: 'completed', error: null, progress: { rows: 0 } })).toBe(100);
  });

  it('fills merge tags for the live preview, escaped', () => {
    expect(sampleRender('<p>Hi {{ contact.name }}, {{ contact.attributes.room | default: "<room>" }}</p>')).toBe('<p>Hi Ada, &#60;room&#62;</p>');
  });

  it('reads validation checks as a list or keyed object', () => {
    expect(validationChecks({ checks: { reachable: { status: 'ok', durationMs: 3 }, auth: { status: 'failed', message: '401' }, read: { status: 'skipped' } } }).map((c) => `${c.name}:${c.status}`)).toEqual([
      'reachable:ok',
      'auth:failed',
      'read:skipped',
    ]);
    expect(validationChecks({ checks: [{ name: 'reachable', status: 'ok' }] })[0].name).toBe('reachable');
  });

  it('reads an erasure report per table', () => {
    expect(reportRows({ report: { contacts: 1, events: 12 } })).toEqual([
      { table: 'contacts', count: '1' },
      { table: 'events', count: '12' },
    ]);
    expect(reportRows({ report: [{ table: 'send_queue', removed: 2 }] })).toEqual([{ table: 'send_queue', count: '2' }]);
  });
});
