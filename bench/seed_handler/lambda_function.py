"""The seed article's handler (Jan 2019), kept as the benchmark's baseline.

Faithful to the article: the three joblib files are loaded on EVERY invocation, the batch's texts
are decoded from base64 -> JSON -> JSON-encoded `textblob`, and the result is {text: label}.
Four changes only, each needed to run today (or to run it on a second model) and none making it faster:
- `from sklearn.externals import joblib` no longer exists (removed in scikit-learn 0.23): import
  joblib itself, and sklearn at module top as the old import did;
- the files are read from the model layer's /opt/model/ (MODEL_DIR), where mlayer's model layer
  puts them, instead of /opt/;
- labels go through .tolist() so the response is JSON-serializable whatever the label dtype;
- the files' model name comes from MODEL_NAME (default MyModel, the article's), so the bench can
  run it on its seed-scale model too.
"""

import base64
import json
import os

import joblib
import sklearn  # noqa: F401  (the seed's `from sklearn.externals import joblib` imported sklearn at init)

MODEL_DIR = os.environ.get("MODEL_DIR", "/opt/model")
MODEL_NAME = os.environ.get("MODEL_NAME") or "MyModel"
PREP1_FILE_NAME = os.path.join(MODEL_DIR, f"PreProc1_{MODEL_NAME}.joblib")
PREP2_FILE_NAME = os.path.join(MODEL_DIR, f"PreProc2_{MODEL_NAME}.joblib")
MODEL_FILE_NAME = os.path.join(MODEL_DIR, f"{MODEL_NAME}.joblib")


def predict(data):
    # Load the model pre-processors
    pre1 = joblib.load(PREP1_FILE_NAME)
    pre2 = joblib.load(PREP2_FILE_NAME)
    clf = joblib.load(MODEL_FILE_NAME)
    print("Loaded Model and pre-processors")
    # perform the prediction
    X1 = pre1.transform(data)
    X2 = pre2.transform(X1)
    output = dict(zip(data, clf.predict(X2).tolist()))
    return output


def lambda_handler(event, context):
    predictList = []
    for record in event["Records"]:
        # decode the base64 Kinesis data
        decoded_record_data = base64.b64decode(record["kinesis"]["data"])
        # load the dynamo DB record
        deserialized_data = json.loads(decoded_record_data)
        predictList.append(json.loads(deserialized_data["textblob"]))
    result = predict(predictList)
    return result
