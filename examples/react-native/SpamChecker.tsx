// What a React Native app needs to classify text on the phone with a minnow student (not run in
// CI: it needs a device or simulator). Install: npm i onnxruntime-react-native minnow
// Ship the model in the app bundle (or download it once; loadModel caches nothing on phones, so
// keep the bytes yourself) and pass the ONNX Runtime module the app already uses.
// With no native module at all (Expo Go, or no onnxruntime-react-native): import loadModel from
// 'minnow/micro' instead and drop `ort`. examples/hermes/ runs that path in Hermes, as CI does.
import React, { useEffect, useState } from 'react';
import { Button, Text, TextInput, View } from 'react-native';
import * as ort from 'onnxruntime-react-native';
import { loadModel, type Prediction } from 'minnow/runtime';

type Model = Awaited<ReturnType<typeof loadModel>>;

export function SpamChecker({ modelUrl, sha256 }: { modelUrl: string; sha256: string }) {
  const [model, setModel] = useState<Model>();
  const [text, setText] = useState('');
  const [result, setResult] = useState<Prediction[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let disposed = false;
    let loaded: Model | undefined;
    // expectedSha256 pins the exact weights this app release was tested with.
    loadModel(modelUrl, { ort: ort as never, expectedSha256: sha256, truncation: 'right' })
      .then((m) => { loaded = m; if (!disposed) setModel(m); })
      .catch((e: Error) => setError(e.message));
    return () => { disposed = true; void loaded?.dispose(); };
  }, [modelUrl, sha256]);

  const check = async () => {
    if (!model || !text.trim()) return;
    try { setResult(await model.classify(text)); } catch (e) { setError((e as Error).message); }
  };

  return (
    <View>
      <TextInput value={text} onChangeText={setText} placeholder="Paste a message" multiline />
      <Button title={model ? 'Check' : 'Loading…'} onPress={check} disabled={!model} />
      {result && <Text>{result[0]!.label} ({(100 * result[0]!.score).toFixed(1)}%)</Text>}
      {error && <Text>{error}</Text>}
    </View>
  );
}
