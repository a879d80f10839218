import { describe, expect, it } from 'vitest';
import { imagesOf } from '../bot/predictions.js';

const MiB = 1024 * 1024;

describe('the images a dropped message carries', () => {
  it('takes image attachments, then image links, and says why others are refused', () => {
    const attachments = [
      { name: 'cat.jpg', contentType: 'image/jpeg', size: 1000, url: 'https://cdn.example/cat.jpg' },
      { name: 'notes.pdf', contentType: 'application/pdf', size: 1000, url: 'https://cdn.example/notes.pdf' },
    ];
    const found = imagesOf(attachments, 'and this one https://img.example/dog.png?w=2 too', 10 * MiB);
    expect(found.images).toEqual([
      { name: 'cat.jpg', url: 'https://cdn.example/cat.jpg' },
      { name: 'dog.png', url: 'https://img.example/dog.png?w=2' },
    ]);
    expect(found.refused).toHaveLength(1);
  });

  it('skips links that only look like image links, instead of throwing', () => {
    const found = imagesOf([], 'look http://[.png and http://[::1.jpg and https://ok.example/a.jpg', 10 * MiB);
    expect(found.images).toEqual([{ name: 'a.jpg', url: 'https://ok.example/a.jpg' }]);
  });
});
